# faqbot - one GNU Makefile.  `make` builds ./faqbot; `make run` starts the
# French console; `make test` builds and runs every test; `make bench`,
# `make fuzz`.  Honours CFLAGS/LDFLAGS; WERROR=1 adds -Werror (CI does).

PKGS := libcurl libcjson olm cmocka sqlite3 libutf8proc openssl yaml-0.1 libsystemd
DEBS := pkg-config libcurl4-openssl-dev libcjson-dev libolm-dev libcmocka-dev \
        libsqlite3-dev libutf8proc-dev libssl-dev libyaml-dev liblinear-dev \
        libsystemd-dev
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
# bot/ holds one folder a layer (base, state, lang, rules, engine, chat, io,
# irc, matrix, daemon); main.c and train/ are the programs.
LAYERS    := base state lang rules engine chat io irc matrix daemon
LIB_SRCS  := $(foreach l,$(LAYERS),$(wildcard bot/$(l)/*.c))
LIB_OBJS  := $(LIB_SRCS:bot/%.c=$(B)/obj/%.o)
ASAN_OBJS := $(LIB_SRCS:bot/%.c=$(B)/asan/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
UNIT_ASAN := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests-asan/%)
STAMP     := $(B)/.deps-ok

.PHONY: all run test unit unit-asan bench fuzz check clean deps asan install uninstall installed
all: faqbot

# `make install` (PREFIX, DESTDIR as usual).  The installed faqbot is a
# separate build (build/inst/) with its helpers' and knowledge's paths
# fixed at build time (as git does): it never looks under build/ or in
# the current directory, and ./faqbot of the checkout is unchanged.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/faqbot
DATADIR    ?= $(PREFIX)/share/faqbot
DOCDIR     ?= $(PREFIX)/share/doc/faqbot
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
INSTALL    ?= install
KNOWLEDGE_FILES := $(wildcard knowledge/*.ini knowledge/*.jsonl) knowledge/model.bin
EXAMPLE_FILES := $(wildcard knowledge/examples/*.jsonl)
INST_DEFS = -DFAQBOT_KNOWLEDGE_DIR='"$(DATADIR)"'

deps: $(STAMP)
$(STAMP):
	@mkdir -p $(B)
	@if pkg-config --exists $(PKGS) 2>/dev/null && [ -f /usr/include/linear.h ]; then touch $@; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "faqbot: installing missing build dependencies with apt-get"; \
	  (apt-get install -y -q --no-install-recommends $(DEBS) >$(B)/apt.log 2>&1 || \
	   (apt-get update -q >>$(B)/apt.log 2>&1 && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(DEBS) >>$(B)/apt.log 2>&1)) \
	  || { echo "faqbot: apt-get failed, see $(B)/apt.log"; exit 1; }; \
	  pkg-config --exists $(PKGS) && [ -f /usr/include/linear.h ] && touch $@; \
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

# ./faqbot links only what ask, console and check use (utf8proc,
# cJSON): loading libcurl, OpenSSL, libolm (libstdc++), SQLite (and libsystemd,
# for sd_notify in run.c) cost 3x a
# whole answer and 8 MiB.  `faqbot run` execs $(B)/faqbot-irc (run.c with
# FAQBOT_NO_MATRIX: no libcurl, libolm, SQLite) for a config without
# [matrix.*], else $(B)/faqbot-net, the same main.c linked with everything
# (bot/main.c, FAQBOT_NET_EXEC, FAQBOT_IRC_EXEC).
$(B)/obj/main-slim.o: bot/main.c | $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(WARN) $(CFLAGS) -DFAQBOT_NET_EXEC='"$(B)/faqbot-net"' \
		-DFAQBOT_IRC_EXEC='"$(B)/faqbot-irc"' -DFAQBOT_TRAIN_EXEC='"$(B)/faqbot-train"' \
		-MMD -MP -c $< -o $@
faqbot: $(B)/obj/main-slim.o $(B)/libfaqbot.a $(B)/faqbot-net $(B)/faqbot-irc $(B)/faqbot-train
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $(B)/obj/main-slim.o $(B)/libfaqbot.a $(PKG_LIBS) -lm
$(B)/faqbot-net: $(B)/obj/main.o $(B)/libfaqbot.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm
# faqbot-train: `faqbot train` executes it; the only program linking
# liblinear (and so libstdc++ and BLAS), which answering never loads.
$(B)/obj/train/%.o: bot/train/%.c | $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(WARN) $(CFLAGS) -MMD -MP -c $< -o $@
$(B)/faqbot-train: $(B)/obj/train/train.o $(B)/libfaqbot.a
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(PKG_LIBS) -llinear -lm
$(B)/obj/run-irc.o: bot/daemon/run.c | $(STAMP)
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

# ---- the installed build: same sources, paths fixed at build time.  The
# paths are recorded in build/inst/paths so that a new PREFIX rebuilds. ----
$(B)/inst/paths: FORCE
	@mkdir -p $(dir $@)
	@echo '$(LIBEXECDIR) $(DATADIR) $(BINDIR) $(UNITDIR)' | cmp -s - $@ || \
		echo '$(LIBEXECDIR) $(DATADIR) $(BINDIR) $(UNITDIR)' >$@
FORCE:
$(B)/inst/main-slim.o: bot/main.c $(B)/inst/paths | $(STAMP)
	$(CC) $(CPPFLAGS_ALL) $(WARN) $(CFLAGS) $(INST_DEFS) \
		-DFAQBOT_NET_EXEC='"$(LIBEXECDIR)/faqbot-net"' \
		-DFAQBOT_IRC_EXEC='"$(LIBEXECDIR)/faqbot-irc"' \
		-DFAQBOT_TRAIN_EXEC='"$(LIBEXECDIR)/faqbot-train"' -MMD -MP -c $< -o $@
$(B)/inst/main-net.o: bot/main.c $(B)/inst/paths | $(STAMP)
	$(CC) $(CPPFLAGS_ALL) $(WARN) $(CFLAGS) $(INST_DEFS) -MMD -MP -c $< -o $@
$(B)/inst/faqbot: $(B)/inst/main-slim.o $(B)/libfaqbot.a
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(PKG_LIBS) -lm
$(B)/inst/faqbot-net: $(B)/inst/main-net.o $(B)/libfaqbot.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm
$(B)/inst/faqbot-irc: $(B)/inst/main-net.o $(B)/obj/run-irc.o $(B)/libfaqbot.a
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(PKG_LIBS) -lm
$(B)/inst/faqbot.service: dist/faqbot.service.in $(B)/inst/paths
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@UNITDIR@|$(UNITDIR)|g' $< >$@
installed: $(B)/inst/faqbot $(B)/inst/faqbot-net $(B)/inst/faqbot-irc $(B)/faqbot-train $(B)/inst/faqbot.service

install: installed
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(DATADIR) \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	$(INSTALL) -m 755 $(B)/inst/faqbot $(DESTDIR)$(BINDIR)/faqbot
	$(INSTALL) -m 755 $(B)/inst/faqbot-net $(B)/inst/faqbot-irc $(B)/faqbot-train $(DESTDIR)$(LIBEXECDIR)/
	$(INSTALL) -m 644 $(KNOWLEDGE_FILES) $(DESTDIR)$(DATADIR)/
	$(INSTALL) -d $(DESTDIR)$(DATADIR)/examples
	$(INSTALL) -m 644 $(EXAMPLE_FILES) $(DESTDIR)$(DATADIR)/examples/
	$(INSTALL) -m 644 config.example.ini README.md SECURITY.md $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 644 $(B)/inst/faqbot.service $(DESTDIR)$(UNITDIR)/faqbot.service
	$(INSTALL) -m 644 dist/faqbot.sysusers $(DESTDIR)$(SYSUSERSDIR)/faqbot.conf
	$(INSTALL) -m 644 dist/faqbot.1 $(DESTDIR)$(MANDIR)/man1/faqbot.1
	$(INSTALL) -m 644 dist/faqbot.ini.5 $(DESTDIR)$(MANDIR)/man5/faqbot.ini.5

# Removes exactly what install wrote, then the directories of faqbot's own.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/faqbot $(DESTDIR)$(LIBEXECDIR)/faqbot-net \
		$(DESTDIR)$(LIBEXECDIR)/faqbot-irc $(DESTDIR)$(LIBEXECDIR)/faqbot-train \
		$(addprefix $(DESTDIR)$(DATADIR)/,$(notdir $(KNOWLEDGE_FILES))) \
		$(addprefix $(DESTDIR)$(DATADIR)/examples/,$(notdir $(EXAMPLE_FILES))) \
		$(addprefix $(DESTDIR)$(DOCDIR)/,config.example.ini README.md SECURITY.md) \
		$(DESTDIR)$(UNITDIR)/faqbot.service $(DESTDIR)$(SYSUSERSDIR)/faqbot.conf \
		$(DESTDIR)$(MANDIR)/man1/faqbot.1 $(DESTDIR)$(MANDIR)/man5/faqbot.ini.5
	-rmdir $(DESTDIR)$(DATADIR)/examples 2>/dev/null
	-rmdir $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR) 2>/dev/null

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

-include $(wildcard $(B)/inst/*.d $(B)/obj/*.d $(B)/obj/*/*.d $(B)/asan/*.d $(B)/asan/*/*.d $(B)/tests/*.d $(B)/tests-asan/*.d)
