#!/usr/bin/env bash
# 10-cli.sh - the `faqbot` command line: exit codes and messages for every
# bad input (empty question, invalid UTF-8, 1 MiB line, unknown option,
# malformed --now), the --json contract of domain.md checked with python3,
# the console scripted over a pipe, --help/--version, check (the effective
# settings with secrets hidden; where a bad knowledge path came from).
source "$(dirname "$0")/../lib.sh"
KB=${FAQBOT_KNOWLEDGE:-$ROOT/knowledge}
fb() { "$FAQBOT" -k "$KB" "$@"; }
[ -x "$FAQBOT" ] || die "$FAQBOT is not built (make faqbot)"

# run_fb NAME WANT_RC ARGS...: runs faqbot, keeps stdout/stderr in $WORK
run_fb() {
	local name=$1 want=$2 rc=0; shift 2
	fb "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
	check "$name: exit $want (got $rc)" [ "$rc" = "$want" ]
}
err_has() { check "$1" grep -qF -- "$2" "$WORK/err"; }
out_has() { check "$1" grep -qF -- "$2" "$WORK/out"; }

# --help, --version
run_fb "--help" 0 --help
out_has "--help lists ask" "ask [--now DATE] [--json] QUESTION"
out_has "--help lists console" "console"
out_has "--help lists check" "check [-c CONFIG]"
out_has "--help lists run" "run -c CONFIG"
out_has "--help documents the input limit" "4096 bytes"
run_fb "ask --help" 0 ask --help
out_has "ask --help prints the usage" "Usage: faqbot"
run_fb "--version" 0 --version
check "--version prints a version" grep -qE '^faqbot [0-9]+\.[0-9]+\.[0-9]+$' "$WORK/out"

# usage errors: exit 2 with a clear message
run_fb "no command" 2
err_has "no command: message" "no command given"
run_fb "unknown command" 2 frobnicate
err_has "unknown command: message" "unknown command \`frobnicate\`"
run_fb "unknown global option" 2 --frob ask x
err_has "unknown global option: message" "unknown option \`--frob\`"
run_fb "unknown ask option" 2 ask --frob "quand ?"
err_has "unknown ask option: message" "unknown option \`--frob\`"
run_fb "unknown short option" 2 ask -z "quand ?"
err_has "unknown short option: message" "unknown option \`-z\`"
run_fb "empty question" 2 ask ""
err_has "empty question: message" "empty question"
run_fb "blank question" 2 ask "   " "	"
err_has "blank question: message" "empty question"
run_fb "no question" 2 ask --now 2026-11-26
err_has "no question: message" "empty question"
for bad in 2026-13-01 26/11/2026 2026-02-30 2026-11-26T25:00 2026-11-26T10 "" demain; do
	run_fb "--now '$bad'" 2 ask --now "$bad" "quand ?"
	err_has "--now '$bad': message" "malformed --now"
done
run_fb "--now without value" 2 ask --now
err_has "--now without value: message" "needs a value"
run_fb "console unknown option" 2 console --bogus
run_fb "console malformed --now" 2 console --now 2026-99-99 </dev/null
err_has "console malformed --now: message" "malformed --now"
run_fb "check takes no --now" 2 check --now 2026-11-26

# answers
Q="Ma session a été validée le 20/11/2026, quand sera-t-elle visible dans Kairos ?"
run_fb "ask" 0 ask --now 2026-11-26 "$Q"
out_has "ask: the window, dates as people read them" "entre le mardi 24 novembre 2026 et le mardi 1er décembre 2026"
out_has "ask: working days" "jours ouvrés"
check "ask: one answer, nothing on stderr" [ ! -s "$WORK/err" ]
run_fb "ask with the question in several words" 0 ask --now 2026-11-26T09:30 Ma session a été validée le 20/11/2026, quand sera-t-elle visible dans Kairos ?
out_has "ask words joined" "entre le mardi 24 novembre 2026 et le mardi 1er décembre 2026"
run_fb "options after the question" 0 ask "$Q" --now 2026-11-26 --json
/usr/bin/python3 - "$WORK/out" <<'PY' || die "--json after the question"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["dates"]["france_travail_max"] == "2026-12-01", o
PY
check "options after the question: json" true

# invalid UTF-8: replaced, still answered
run_fb "invalid UTF-8" 0 ask --now 2026-11-26 "$(printf 'quand sera visible ma session \xff\xfe dans Kairos ?')"
check "invalid UTF-8: an answer" [ -s "$WORK/out" ]
err_has "invalid UTF-8: a note" "invalid UTF-8"
check "invalid UTF-8: the answer is valid UTF-8" /usr/bin/python3 -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8")' "$WORK/out"

# --json: exactly the object of domain.md
json_check() { # file, python assertions on o
	/usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
# domain.md's keys in its order, then the field issue 11 added
assert list(o) == ["intent", "confidence", "slots", "dates", "status", "answer", "auto_answer"], list(o)
assert isinstance(o["auto_answer"], bool)
assert list(o["slots"]) == ["platform", "state", "validation_date"], o["slots"]
assert isinstance(o["confidence"], (int, float)) and 0 <= o["confidence"] <= 1
assert isinstance(o["answer"], str) and 0 < len(o["answer"].encode()) < 4096
assert o["intent"] in ("display_delay", "definition", "stages", "state", "session_number",
	"green_not_in_kairos", "validation_process", "greeting", "thanks", "help", "out_of_scope")
if o["dates"] == {}:
	assert o["slots"]["validation_date"] is None and o["status"] is None, o
else:
	assert list(o["dates"]) == ["validation", "regional", "rco_export", "rco_visible",
		"france_travail_min", "france_travail_max"], o["dates"]
	assert o["dates"]["validation"] == o["slots"]["validation_date"]
if o["intent"] != "display_delay" or o["dates"] == {}:
	assert o["status"] is None, o
else:
	assert o["status"] in ("early", "within", "overdue"), o
exec(sys.argv[2])
PY
}
run_fb "--json dated" 0 ask --json --now 2026-11-26 "$Q"
check "--json dated: the example of domain.md" json_check "$WORK/out" '
assert o["intent"] == "display_delay", o
assert o["slots"] == {"platform": "kairos", "state": None, "validation_date": "2026-11-20"}, o
assert o["dates"] == {"validation": "2026-11-20", "regional": "2026-11-21", "rco_export": "2026-11-20",
	"rco_visible": "2026-11-24", "france_travail_min": "2026-11-24", "france_travail_max": "2026-12-01"}, o
assert o["status"] == "within", o
assert "mardi 1er décembre 2026" in o["answer"]'
run_fb "--json early" 0 ask --json --now 2026-11-23 "$Q"
check "--json early" json_check "$WORK/out" 'assert o["status"] == "early", o'
run_fb "--json overdue" 0 ask --json --now 2026-12-02 "$Q"
check "--json overdue" json_check "$WORK/out" '
assert o["status"] == "overdue", o
assert "DIFF" in o["answer"] and "Emfor" in o["answer"], o'
run_fb "--json no date" 0 ask --json --now 2026-11-26 "Combien de temps faut-il pour qu'une session soit visible dans Kairos ?"
check "--json no date" json_check "$WORK/out" '
assert o["intent"] == "display_delay" and o["dates"] == {} and o["status"] is None, o
assert "date de validation" in o["answer"], o'
run_fb "--json greeting" 0 ask --json --now 2026-11-26 "Bonjour"
check "--json greeting" json_check "$WORK/out" '
assert o["intent"] == "greeting" and o["slots"]["platform"] is None and o["status"] is None, o'
run_fb "--json state" 0 ask --json "Que veut dire l'état ARCH ?"
check "--json state" json_check "$WORK/out" 'assert o["intent"] == "state" and o["slots"]["state"] == "ARCH", o'
run_fb "--json out of scope" 0 ask --json "Quelle est la recette de la tarte aux pommes ?"
check "--json out of scope" json_check "$WORK/out" 'assert o["intent"] == "out_of_scope", o'

# today's date: Europe/Paris unless FAQBOT_TZ says otherwise
for tz in "" Pacific/Kiritimati Pacific/Pago_Pago; do
	want=$(TZ=${tz:-Europe/Paris} date +%F)
	rc=0
	FAQBOT_TZ=$tz TZ=UTC "$FAQBOT" -k "$KB" ask --json "ma session a été validée aujourd'hui, quand sera-t-elle dans Kairos ?" >"$WORK/out" 2>"$WORK/err" || rc=$?
	check "today in ${tz:-Europe/Paris}: exit 0" [ $rc = 0 ]
	check "today in ${tz:-Europe/Paris} is $want" json_check "$WORK/out" "assert o['slots']['validation_date'] == '$want', o"
done

# the console, scripted: one question a line, each answer + an empty line
printf 'Bonjour\n\n   \nQue veut dire l état ARCH ?\nMerci !\n' >"$WORK/in"
rc=0; fb console --now 2026-11-26 <"$WORK/in" >"$WORK/out" 2>"$WORK/err" || rc=$?
check "console: exit 0" [ $rc = 0 ]
check "console: three answers, each followed by an empty line (blank lines skipped)" /usr/bin/python3 -c '
import sys
t = open(sys.argv[1], encoding="utf-8").read()
assert t.endswith("\n\n"), repr(t[-40:])
blocks = t[:-2].split("\n\n")
assert len(blocks) == 3 and all(b.strip() for b in blocks), blocks
assert "ARCH" in blocks[1], blocks' "$WORK/out"
check "console: no prompt when not on a terminal" bash -c '! grep -q "^> " "$1"' _ "$WORK/out"

# a 1 MiB line: read whole, answered on the first 4096 bytes, said so
/usr/bin/python3 -c '
import sys
sys.stdout.write("quand sera visible ma session dans Kairos ? " + "é" * (1 << 19) + "\nMerci\n")' >"$WORK/big"
rc=0; fb console --now 2026-11-26 <"$WORK/big" >"$WORK/out" 2>"$WORK/err" || rc=$?
check "1 MiB line: exit 0" [ $rc = 0 ]
err_has "1 MiB line: a note names the limit" "only its first 4096 bytes were read"
check "1 MiB line: two answers (the rest of the line is not a new question)" /usr/bin/python3 -c '
import sys
t = open(sys.argv[1], encoding="utf-8").read()
blocks = t[:-2].split("\n\n")
assert len(blocks) == 2, len(blocks)
assert all(0 < len(b.encode()) < 4096 for b in blocks)' "$WORK/out"
# one argument is at most 128 KiB (Linux MAX_ARG_STRLEN): 100 kB here
big=$(head -c 100000 "$WORK/big" | head -n 1)
run_fb "100 kB question on the command line" 0 ask --now 2026-11-26 "$big"
err_has "100 kB question: a note" "only its first 4096 bytes were read"

# check
run_fb "check" 0 check
out_has "check: OK" "knowledge OK"
run_fb "check, knowledge missing" 1 -k "$WORK/nowhere" check
err_has "check, knowledge missing: names the file" "$WORK/nowhere/"
printf '[bot]\nknowledge = %s\n[nonsense.section]\n' "$KB" >"$WORK/bad.ini"
run_fb "check -c broken config" 1 check -c "$WORK/bad.ini"
err_has "check -c broken config: file:line" "$WORK/bad.ini:"
run_fb "ask, knowledge missing" 1 -k "$WORK/nowhere" ask "quand ?"

# check -c shows the effective settings, every secret hidden
cat >"$WORK/sec.ini" <<INI
[bot]
knowledge = $KB
[irc.local]
server = 127.0.0.1
nick = faqbot
channels = #faq, #club Chan-K3y-sec
sasl_mechanism = plain
sasl_password = Sasl-Pw-s3cret
[matrix.local]
homeserver = https://matrix.example.org
user = @faqbot:example.org
password = Mx-Pw-s3cret
access_token = Mx-Tok-s3cret
pickle_key = Pickle-s3cret
INI
chmod 600 "$WORK/sec.ini"
rc=0; "$FAQBOT" check -c "$WORK/sec.ini" >"$WORK/out" 2>"$WORK/err" || rc=$?
check "check -c: exit 0 (got $rc)" [ $rc = 0 ]
out_has "check -c: config OK" "config OK: $WORK/sec.ini"
out_has "check -c: the effective [irc.local]" "[irc.local]"
out_has "check -c: a default filled in (user_burst 5)" "user_burst = 5"
out_has "check -c: the effective [matrix.local]" "[matrix.local]"
out_has "check -c: secrets shown as <hidden>" "sasl_password = <hidden>"
out_has "check -c: the knowledge checked" "knowledge OK"
n=0
for secret in Sasl-Pw-s3cret Mx-Pw-s3cret Mx-Tok-s3cret Pickle-s3cret Chan-K3y-sec; do
	n=$((n + 1)) # the log names the secret by number: 96-secrets greps logs for it
	check "check -c: secret #$n appears nowhere" bash -c '! grep -qF -- "$1" "$2" "$3"' _ \
		"$secret" "$WORK/out" "$WORK/err"
done

# a knowledge path from a config: the error says where it came from
mkdir -p "$WORK/cfgdir"
printf '[bot]\n; the knowledge beside this file\nknowledge = knowledge\n' >"$WORK/cfgdir/x.ini"
rc=0; "$FAQBOT" check -c "$WORK/cfgdir/x.ini" >"$WORK/out" 2>"$WORK/err" || rc=$?
check "check -c, relative knowledge missing: exit 1 (got $rc)" [ $rc = 1 ]
err_has "check -c, relative knowledge missing: file:line and the resolved folder" \
	"$WORK/cfgdir/x.ini:3: knowledge = knowledge (relative to the config's folder: $WORK/cfgdir/knowledge): $WORK/cfgdir/knowledge/"
err_has "check -c, relative knowledge missing: the fix" "set an absolute path"

# the knowledge is found beside the executable from any directory
[ -x "$ROOT/faqbot" ] || die "$ROOT/faqbot is not built"
rc=0; (cd "$WORK" && "$ROOT/faqbot" ask "Bonjour" >"$WORK/out" 2>"$WORK/err") || rc=$?
check "ask from another directory finds knowledge/ beside the executable" [ $rc = 0 ]
check "ask from another directory: an answer" [ -s "$WORK/out" ]
log "$CHECKS_OK checks passed"
