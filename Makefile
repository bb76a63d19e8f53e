# faqbot - one GNU Makefile.  `make` builds ./faqbot; `make run` starts the
# French console; `make test` builds and runs every test; `make bench`,
# `make fuzz`.  Honours CFLAGS/LDFLAGS; WERROR=1 adds -Werror (CI does).

PKGS := libcurl libcjson olm cmocka sqlite3 libutf8proc inih openssl yaml-0.1
DEBS := pkg-config libcurl4-openssl-dev libcjson-dev libolm-dev libcmocka-dev \
        libsqlite3-dev libutf8proc-dev libinih-dev libssl-dev libyaml-dev
VERSION := 0.1.0

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN    += -Werror
endif
# Lazy (=): evaluated after the `deps` stamp has installed what was missing.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(filter-out cmocka yaml-0.1,$(PKGS)))
CPPFLAGS_ALL = -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L \
               -DFAQBOT_VERSION='"$(VERSION)"' -Iinclude $(PKG_CFLAGS) $(CPPFLAGS)
SAN := -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-sanitize-recover=undefined,float-cast-overflow

B := build
SRCS      := $(wildcard bot/*.c)
LIB_SRCS  := $(filter-out bot/main.c,$(SRCS))
LIB_OBJS  := $(LIB_SRCS:bot/%.c=$(B)/obj/%.o)
ASAN_OBJS := $(LIB_SRCS:bot/%.c=$(B)/asan/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
UNIT_ASAN := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests-asan/%)
STAMP     := $(B)/.deps-ok

.PHONY: all run test unit unit-asan bench fuzz check clean deps asan
all: faqbot

deps: $(STAMP)
$(STAMP):
	@mkdir -p $(B)
	@if pkg-config --exists $(PKGS) 2>/dev/null; then touch $@; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "faqbot: installing missing build dependencies with apt-get"; \
	  (apt-get install -y -q --no-install-recommends $(DEBS) >$(B)/apt.log 2>&1 || \
	   (apt-get update -q >>$(B)/apt.log 2>&1 && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(DEBS) >>$(B)/apt.log 2>&1)) \
	  || { echo "faqbot: apt-get failed, see $(B)/apt.log"; exit 1; }; \
	  pkg-config --exists $(PKGS) && touch $@; \
	else \
	  echo "faqbot: missing build dependencies; install them with:"; \
	  echo "  sudo apt-get install $(DEBS)"; exit 1; \
	fi

$(B)/obj/%.o: bot/%.c | $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(WARN) $(CFLAGS) -MMD -MP -c $< -o $@
$(B)/asan/%.o: bot/%.c | $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(WARN) -O1 -g $(SAN) -MMD -MP -c $< -o $@

$(B)/libfaqbot.a: $(LIB_OBJS)
	@rm -f $@; ar rcs $@ $^
$(B)/libfaqbot-asan.a: $(ASAN_OBJS)
	@rm -f $@; ar rcs $@ $^

# ./faqbot links only what ask, console and check use (utf8proc, cJSON,
# inih): loading libcurl, OpenSSL, libolm (libstdc++) and SQLite cost 3x a
# whole answer and 8 MiB.  `faqbot run` execs $(B)/faqbot-irc (run.c with
# FAQBOT_NO_MATRIX: no libcurl, libolm, SQLite) for a config without
# [matrix.*], else $(B)/faqbot-net, the same main.c linked with everything
# (bot/main.c, FAQBOT_NET_EXEC, FAQBOT_IRC_EXEC).
$(B)/obj/main-slim.o: bot/main.c | $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(WARN) $(CFLAGS) -DFAQBOT_NET_EXEC='"$(B)/faqbot-net"' \
		-DFAQBOT_IRC_EXEC='"$(B)/faqbot-irc"' -MMD -MP -c $< -o $@
faqbot: $(B)/obj/main-slim.o $(B)/libfaqbot.a $(B)/faqbot-net $(B)/faqbot-irc
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $(B)/obj/main-slim.o $(B)/libfaqbot.a $(PKG_LIBS) -lm
$(B)/faqbot-net: $(B)/obj/main.o $(B)/libfaqbot.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm
$(B)/obj/run-irc.o: bot/run.c | $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(WARN) $(CFLAGS) -DFAQBOT_NO_MATRIX -MMD -MP -c $< -o $@
# run-irc.o comes before the archive, so the archive's run.o (and with it
# matrix.o, http.c, store.c, e2ee.c) is never pulled in.
$(B)/faqbot-irc: $(B)/obj/main.o $(B)/obj/run-irc.o $(B)/libfaqbot.a
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(PKG_LIBS) -lm
# Also relinked when ./faqbot is newer: tests/lib.sh refuses an ASan build
# older than ./faqbot.
$(B)/faqbot-asan: $(B)/asan/main.o $(B)/libfaqbot-asan.a faqbot
	$(CC) $(SAN) $(LDFLAGS) -o $@ $(B)/asan/main.o $(B)/libfaqbot-asan.a $(PKG_LIBS) -lm
asan: $(B)/faqbot-asan

$(B)/tests/%: tests/unit/%.c $(B)/libfaqbot.a | $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(WARN) $(CFLAGS) -MMD -MP -o $@ $< $(B)/libfaqbot.a $(PKG_LIBS) $$(pkg-config --libs cmocka yaml-0.1) -lm
$(B)/tests-asan/%: tests/unit/%.c $(B)/libfaqbot-asan.a | $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(WARN) -O1 -g $(SAN) -MMD -MP -o $@ $< $(B)/libfaqbot-asan.a $(PKG_LIBS) $$(pkg-config --libs cmocka yaml-0.1) -lm

unit: $(UNIT_BINS)
unit-asan: $(UNIT_ASAN)

run: faqbot
	./faqbot console

check: faqbot
	./faqbot check

test: faqbot unit unit-asan $(B)/faqbot-asan
	@tests/run.sh

bench: faqbot
	@tests/bench/run.sh

fuzz:
	@tests/fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf $(B) faqbot

-include $(wildcard $(B)/obj/*.d $(B)/asan/*.d $(B)/tests/*.d $(B)/tests-asan/*.d)
