#!/usr/bin/env bash
# make install / make uninstall: installs into a staging DESTDIR with a
# temporary PREFIX, checks where each file lands, then unpacks the staged
# tree at PREFIX (as a package would) and, from another directory, runs
# the installed `ask`, `check` and an IRC session on ngircd: the helpers
# come from PREFIX/libexec/faqbot and the knowledge from PREFIX/share/faqbot,
# never from the checkout's build/ or knowledge/.  The man pages render
# without warnings.  `make uninstall` then leaves no file behind.
NEEDS_FAQBOT=0
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/irc/servers.sh"
need_debs make groff-base man-db mandoc ngircd python3

P=$WORK/prefix/opt/fq          # PREFIX
STAGE=$WORK/stage              # DESTDIR
M=(make -C "$ROOT" --no-print-directory -j2 PREFIX="$P")
"${M[@]}" install DESTDIR="$STAGE" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log" >&2; die "make install"; }

S=$STAGE$P
for f in bin/faqbot libexec/faqbot/faqbot-net libexec/faqbot/faqbot-irc; do
	check "$f is installed, executable" test -x "$S/$f"
done
for f in share/faqbot/stages.ini share/faqbot/lexicon.ini share/faqbot/intents.ini \
	 share/faqbot/answers.ini share/faqbot/calendar.ini share/doc/faqbot/config.example.ini \
	 share/man/man1/faqbot.1 share/man/man5/faqbot.ini.5 lib/systemd/system/faqbot.service \
	 lib/sysusers.d/faqbot.conf; do
	check "$f is installed" test -s "$S/$f"
done
check "nothing is written outside DESTDIR/PREFIX" \
	test "$(find "$STAGE" -type f | grep -vc "^$S/")" = 0
check "the installed faqbot names PREFIX's libexec" grep -q "$P/libexec/faqbot/faqbot-net" "$S/bin/faqbot"
check "the installed faqbot does not look under build/" \
	bash -c "! grep -qa 'build/faqbot-net' '$S/bin/faqbot'"
check "the unit runs PREFIX/bin/faqbot" grep -q "^ExecStart=$P/bin/faqbot run" "$S/lib/systemd/system/faqbot.service"

# The man pages: no warning from groff, man or mandoc's linter.
for m in "$S/share/man/man1/faqbot.1" "$S/share/man/man5/faqbot.ini.5"; do
	out=$(groff -man -ww -z "$m" 2>&1)
	check "groff -ww: no warning in $(basename "$m")" test -z "$out"
	out=$(mandoc -T lint -W warning "$m" 2>&1)
	check "mandoc -T lint: no warning in $(basename "$m")${out:+: $out}" test -z "$out"
	out=$(MANWIDTH=80 man --warnings -l "$m" 2>&1 >"$WORK/man.txt")
	check "man -l renders $(basename "$m") without warnings${out:+: $out}" test -z "$out"
	check "man -l renders $(basename "$m") with a NAME section" grep -q NAME "$WORK/man.txt"
done

# Unpack the staged tree where it was built for, then run it from a
# directory with no knowledge/ (and with another faqbot's knowledge/
# elsewhere: a copy in the current directory must not be used).
mkdir -p "$(dirname "$P")"
cp -a "$S" "$P"
mkdir -p "$WORK/elsewhere/knowledge"
echo 'garbage' >"$WORK/elsewhere/knowledge/stages.ini"
cd "$WORK/elsewhere"
FQ=$P/bin/faqbot
want=$("$ROOT/faqbot" -k "$ROOT/knowledge" ask --now 2026-11-26 "validée mardi dernier, tjrs rien ds kairos c normal ?")
got=$(env -u FAQBOT_NET "$FQ" ask --now 2026-11-26 "validée mardi dernier, tjrs rien ds kairos c normal ?")
check "installed ask answers from PREFIX/share/faqbot" test "$got" = "$want"
out=$("$FQ" check 2>&1)
check "installed check validates PREFIX/share/faqbot ($out)" grep -q "knowledge OK: $P/share/faqbot" <<<"$out"

ngircd_start ng
cat >"$WORK/inst.ini" <<INI
[bot]
state = $WORK/inst.db
[irc.local]
server = 127.0.0.1
port = $ng_PORT
tls = no
nick = instbot
channels = #inst
INI
out=$("$FQ" check -c "$WORK/inst.ini" 2>&1)
check "installed check -c: the config without a knowledge key uses PREFIX/share/faqbot" \
	grep -q "knowledge OK: $P/share/faqbot" <<<"$out"
# A knowledge key in the config wins over the installed default.
printf '[bot]\nknowledge = %s/elsewhere/knowledge\n' "$WORK" >"$WORK/kb.ini"
check "a knowledge key in the config wins" bash -c "! '$FQ' check -c '$WORK/kb.ini' >/dev/null 2>&1"
check "-k wins over the installed default" bash -c "! '$FQ' -k '$WORK/elsewhere/knowledge' check >/dev/null 2>&1"

# A question without a date: the bot answers it for today.
Q2="que veut dire l'état DIFF ?"
want=$("$FQ" ask "$Q2")
FAQBOT_RUN=$FQ bot_start "$WORK/inst.ini" "$WORK/inst-bot.log"
ROOT=$ROOT $PY - "$ng_PORT" "$want" "$Q2" <<'PYEOF' || { tail -n 20 "$WORK/inst-bot.log" >&2; die "IRC session with the installed faqbot"; }
import sys, time
sys.path.insert(0, __import__("os").environ["ROOT"] + "/tests/irc")
from ircclient import Client
port, want, q = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = Client("127.0.0.1", port, "alice").connect(); c.register(); c.join("#inst")
# The bot joins in its own time: look until it is there.
end = time.monotonic() + 20
while "instbot" not in c.names("#inst"):
    if time.monotonic() > end:
        sys.exit("FAIL instbot never joined #inst")
    time.sleep(0.2)
c.privmsg("#inst", "instbot: " + q)
first = want.split("\n")[0][:60]
m = c.wait(lambda m: m.command == "PRIVMSG" and first[:40] in m.text, 20, what="the answer")
print("ok   the installed faqbot answers on IRC:", m.text[:80])
PYEOF
check "the IRC session ran the installed IRC-only helper" \
	test "$(readlink "/proc/$BOT_PID/exe")" = "$P/libexec/faqbot/faqbot-irc"
kill "$BOT_PID"; for i in $(seq 50); do kill -0 "$BOT_PID" 2>/dev/null || break; sleep 0.1; done
check "the installed bot stopped on SIGTERM" bash -c "! kill -0 $BOT_PID 2>/dev/null"
cd "$ROOT"

"${M[@]}" uninstall DESTDIR="$STAGE" >>"$WORK/install.log" 2>&1 || die "make uninstall"
left=$(find "$STAGE" -type f -o -type l)
check "make uninstall removes every installed file${left:+ (left: $left)}" test -z "$left"
check "make uninstall removes faqbot's own directories" \
	bash -c "! test -e '$S/libexec/faqbot' && ! test -e '$S/share/faqbot' && ! test -e '$S/share/doc/faqbot'"
"${M[@]}" uninstall >>"$WORK/install.log" 2>&1 || die "make uninstall (no DESTDIR)"
left=$(find "$WORK/prefix" -type f -o -type l)
check "make uninstall at PREFIX removes the unpacked copy${left:+ (left: $left)}" test -z "$left"
log "18-install: $CHECKS_OK checks passed"
