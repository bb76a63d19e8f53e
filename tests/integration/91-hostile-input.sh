#!/usr/bin/env bash
# Hostile input, tried as an attacker would (issue 6), on the sanitizer
# build: the longest line (1 MiB on the console, the longest PRIVMSG
# ngircd relays), questions full of control characters, bidi marks,
# invalid UTF-8, HTML and markdown (the answer never echoes them), a
# knowledge file with a 10 MB line, configs with a missing section, a
# missing key, garbage, binary bytes or a 100 kB section header.  Each gets
# a clear message or a harmless answer; nothing crashes (lib.sh fails the
# script on any sanitizer report).
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/irc/servers.sh"
need_debs ngircd python3
[ -x "$FAQBOT" ] || die "$FAQBOT is not built"
KB=$ROOT/knowledge
NOW=(--now 2026-11-26)

# run_fb NAME EXPECTED-EXIT ARGS...: stdout in $WORK/out, stderr in $WORK/err
run_fb() {
	local name=$1 want=$2 rc=0; shift 2
	"$FAQBOT" "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
	[ "$rc" = "$want" ] || { head -c 2000 "$WORK/err" >&2; die "$name: exit $rc, expected $want"; }
	check "$name: exit $want" true
}
# no_markup NAME FILE: none of the user's markup came back
no_markup() {
	check "$1: no HTML or markdown echoed" bash -c '! grep -qiE "<script|<img|<b>|onerror|javascript:|\*\*gras|\[lien\]" "$1"' _ "$2"
}
# clear_error NAME PATTERN: one short line on stderr naming what is wrong
clear_error() {
	check "$1: a clear message" grep -qE "$2" "$WORK/err"
	check "$1: short (no dump of the input)" [ "$(wc -c <"$WORK/err")" -lt 1000 ]
}

# ---- questions ---------------------------------------------------------
HTML='<script>alert(1)</script><img src=x onerror=alert(2)> quand sera visible ma session <b>validée</b> hier dans Kairos ?'
MD='**gras** [lien](javascript:alert(1)) `code` _quand_ sera visible ma session dans ~~Kairos~~ ?'
CTRL=$(printf 'quand\x01\x02\x03\x07\x08\x0b\x0c\x1b[31m sera\x7f visible ma session\x1b[0m dans Kairos ?')
BIDI=$(printf 'quand \xe2\x80\xae sera \xe2\x81\xa6visible\xe2\x81\xa9 ma \xe2\x80\x8fsession\xe2\x80\x8e dans \xef\xbb\xbfKairos\xe2\x80\xac ?')
BAD=$(printf 'valid\xe9e hier \xc3\x28 \xff\xfe\xed\xa0\x80 \xf0\x9f\x98 quand dans Kairos ?')
for v in HTML MD CTRL BIDI BAD; do
	run_fb "ask $v" 0 -k "$KB" ask "${NOW[@]}" "${!v}"
	check "ask $v: an answer" [ -s "$WORK/out" ]
	no_markup "ask $v" "$WORK/out"
	check "ask $v: valid UTF-8, no control byte" /usr/bin/python3 -c '
import sys
t = open(sys.argv[1], "rb").read().decode("utf-8")
assert not any(ord(c) < 32 and c != "\n" or 0x7f <= ord(c) < 0xa0 or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069" for c in t), repr(t)' "$WORK/out"
	run_fb "ask --json $v" 0 -k "$KB" ask --json "${NOW[@]}" "${!v}"
	check "ask --json $v: valid JSON with an answer" /usr/bin/python3 -c '
import json, sys
j = json.load(open(sys.argv[1], encoding="utf-8"))
assert j["answer"] and "<" not in j["answer"], j' "$WORK/out"
done
run_fb "ask CTRL again" 0 -k "$KB" ask "${NOW[@]}" "$CTRL"
check "control characters: the question is understood anyway" grep -q "Kairos" "$WORK/out"

# The longest line: 1 MiB on the console, then a NUL in the middle of a line.
/usr/bin/python3 -c '
import sys
sys.stdout.buffer.write(("quand sera visible ma session dans Kairos ? " + "<b>é</b>" * (1 << 17)).encode() + b"\n")
sys.stdout.buffer.write(b"quand sera\x00 visible ma session ?\n" + b"\x00" * 70000 + b"\n")' >"$WORK/in"
run_fb "console, 1 MiB line and NUL bytes" 0 -k "$KB" console "${NOW[@]}" <"$WORK/in"
no_markup "console, 1 MiB line" "$WORK/out"
check "console, 1 MiB line: said that only the start was read" grep -q "4096" "$WORK/err"
check "console, 1 MiB line: every answer short" /usr/bin/python3 -c '
import sys
blocks = open(sys.argv[1], encoding="utf-8").read()[:-2].split("\n\n")
assert 1 <= len(blocks) <= 3 and all(0 < len(b.encode()) < 4096 for b in blocks), [len(b) for b in blocks]' "$WORK/out"

# ---- knowledge with a 10 MB line ---------------------------------------
for f in answers.ini intents.ini lexicon.ini calendar.ini stages.ini; do
	rm -rf "$WORK/kb" && cp -r "$KB" "$WORK/kb"
	/usr/bin/python3 -c '
import sys
open(sys.argv[1], "a").write("\nx = " + "a" * 10_000_000 + "\n")' "$WORK/kb/$f"
	run_fb "knowledge: 10 MB line in $f, check" 1 -k "$WORK/kb" check
	clear_error "knowledge: 10 MB line in $f" "$f:[0-9]+: .*(long|shorten|split)"
	run_fb "knowledge: 10 MB line in $f, ask" 1 -k "$WORK/kb" ask "Bonjour"
	clear_error "knowledge: 10 MB line in $f, ask" "$f:[0-9]+:"
done

# ---- broken configs ----------------------------------------------------
cfg() { printf '%b' "$2" >"$WORK/$1.ini"; chmod 600 "$WORK/$1.ini"; }
cfg nosection 'server = irc.example.org\nnick = faqbot\n'
cfg noserver '[bot]\nknowledge = '"$KB"'\n[irc.x]\nnick = faqbot\n'
cfg unknown '[bot]\nknowledge = '"$KB"'\n[irc.x]\nserver = a.example\nnick = faqbot\nchanels = #typo\n'
cfg badsection '[bot]\nknowledge = '"$KB"'\n[nonsense]\nkey = value\n'
cfg noequals '[bot]\nknowledge = '"$KB"'\njust some words\n'
cfg badport '[bot]\nknowledge = '"$KB"'\n[irc.x]\nserver = a.example\nnick = faqbot\nport = 99999999999\n'
head -c 4096 /dev/urandom >"$WORK/garbage.ini"
/usr/bin/python3 -c '
import sys
open(sys.argv[1], "w").write("[" + "irc." * 25000 + "]\nserver = x\n")' "$WORK/longsection.ini"
/usr/bin/python3 -c '
import sys
open(sys.argv[1], "w").write("[bot]\nknowledge = " + "k" * 10_000_000 + "\n")' "$WORK/longvalue.ini"
for c in nosection noserver unknown badsection noequals badport garbage longsection longvalue; do
	run_fb "config $c: check -c" 1 -k "$KB" check -c "$WORK/$c.ini"
	clear_error "config $c" "$c\.ini:[0-9]+: "
	run_fb "config $c: run -c" 1 run -c "$WORK/$c.ini"
	clear_error "config $c, run" "$c\.ini:[0-9]+: "
done
run_fb "config missing: run -c" 1 run -c "$WORK/nowhere.ini"
clear_error "config missing" "nowhere\.ini"

# ---- IRC: the same hostile questions through a real server -------------
ngircd_start ng
cat >"$WORK/bot.ini" <<INI
[bot]
knowledge = $KB
state = $WORK/faqbot.db
user_rate = 1000
user_burst = 1000

[irc.local]
server = 127.0.0.1
port = $ng_PORT
tls = no
nick = faqbot
channels = #faq
throttle_rate = 0
INI
bot_start "$WORK/bot.ini"
$PY - "$ng_PORT" "$ROOT/tests/irc" <<'PY' || { tail -n 30 "$BOT_LOG" >&2; die "IRC hostile questions"; }
import sys, time
sys.path.insert(0, sys.argv[2])
from ircclient import Client
port = int(sys.argv[1])
c = Client("127.0.0.1", port, "mallory").connect(); c.register(); c.join("#faq")
for _ in range(100):  # the bot may join before or after us
    if "faqbot" in c.names("#faq"):
        break
    time.sleep(0.2)
else:
    raise SystemExit("the bot never joined #faq")
qs = [
    b"<script>alert(1)</script> quand sera visible ma session <b>validee</b> dans Kairos ?",
    b"**gras** [lien](javascript:alert(1)) quand sera visible ma session ?",
    b"quand\x02\x03\x04\x07\x0b\x1b[31m sera visible\x7f ma session ?",
    "quand \u202e sera \u2066visible\u2069 ma \u200fsession ?".encode(),
    b"valid\xe9e hier \xc3\x28 \xff\xfe quand \xed\xa0\x80 ?",
    b"\x01ACTION quand sera visible ma session ?\x01",
    b"\x01PING " + b"\r" * 0 + b"A" * 300 + b"\x01",
    b"\x01VERSION\x01",
]
# the longest PRIVMSG the server relays: 512 bytes with the prefix ngircd adds
room = 512 - len(":mallory!~tester@127.0.0.1 PRIVMSG faqbot :\r\n") - 1
qs.append(("quand sera visible ma session ? " + "é" * 400).encode()[:room])
mark = c.mark()
for q in qs:
    c.send(b"PRIVMSG faqbot :" + q)
    time.sleep(0.05)
c.send(b"PRIVMSG #faq :faqbot: <img src=x onerror=alert(1)> c koi le delai d affichage")
end = time.time() + 20
got = []
while time.time() < end:
    got = c.received(lambda m: m.nick == "faqbot" and m.command in ("PRIVMSG", "NOTICE"), mark)
    if len(got) >= len(qs):
        break
    time.sleep(0.2)
assert len(got) >= len(qs) - 1, "only %d replies to %d hostile lines: %r" % (len(got), len(qs) + 1, got)
for m in got:
    assert m.wire_len() <= 512, m
    assert m.utf8_ok, m
    low = m.text.lower()
    for bad in ("<script", "<img", "<b>", "onerror", "javascript:", "\x1b", "\x07", "\u202e", "\u2066"):
        assert bad not in low, (bad, m)
    if m.text.startswith("\x01"):
        assert m.command == "NOTICE", m
chan = c.wait(lambda m: m.nick == "faqbot" and m.target == "#faq", 10, mark, "the channel answer")
assert chan.text.startswith("mallory"), chan
print("IRC: %d replies, none echoes markup or controls, all within 512 bytes" % len(got))
c.close()
PY
check "IRC: hostile questions answered harmlessly" true
check "IRC: the bot is still running" kill -0 "$BOT_PID"
log "$CHECKS_OK checks passed"
