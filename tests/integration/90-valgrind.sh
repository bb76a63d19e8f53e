#!/usr/bin/env bash
# The console and ask paths of the optimised ./faqbot under valgrind
# memcheck (issue 6): varied questions (dates, SMS spelling, commands,
# invalid UTF-8, control and bidi characters, HTML, a 1 MiB line, an empty
# line), `ask` and `ask --json`, `check`, and a broken knowledge directory.
# Any memcheck error or definite / indirect leak fails the script
# (--error-exitcode plus --errors-for-leak-kinds=definite,indirect).
# FAQBOT_VG names another binary (used to prove the check can fail).
source "$(dirname "$0")/../lib.sh"
need_debs valgrind python3
BIN=${FAQBOT_VG:-$ROOT/faqbot}
[ -x "$BIN" ] || die "$BIN is not built (make faqbot)"
KB=$ROOT/knowledge

VG=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=full
    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
    --track-origins=yes --num-callers=30)

n=0
# vg NAME EXPECTED-EXIT ARGS...: runs BIN ARGS under memcheck (stdin from
# $WORK/in when it exists); the memcheck log is $WORK/vg.N.log.
vg() {
	local name=$1 want=$2; shift 2
	n=$((n + 1))
	local rc=0 in=/dev/null
	[ -f "$WORK/in" ] && in=$WORK/in
	"${VG[@]}" --log-file="$WORK/vg.$n.log" "$BIN" "$@" <"$in" >"$WORK/out.$n" 2>"$WORK/err.$n" || rc=$?
	if [ $rc = 99 ] || grep -qE 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]|indirectly lost: [1-9]' "$WORK/vg.$n.log"; then
		sed -n '/Invalid\|uninitialised\|lost in\|ERROR SUMMARY/,+12p' "$WORK/vg.$n.log" | head -60 >&2
		die "$name: memcheck found errors or leaks (log: $WORK/vg.$n.log)"
	fi
	check "$name: exit $want under memcheck (got $rc)" [ "$rc" = "$want" ]
	check "$name: memcheck ran and saw no error" grep -q 'ERROR SUMMARY: 0 errors' "$WORK/vg.$n.log"
	rm -f "$WORK/in"
}

# The console: one question a line, every kind of hostile text.
/usr/bin/python3 - "$WORK/in" <<'PY'
import sys
lines = [
    "quand sera visible ma session validée hier dans Kairos ?",
    "kan ma session sera visible ds aude",
    "Validée lundi dernier, toujours pas sur Pôle emploi, est-ce normal ?",
    "La validation a eu lieu le 3 mars, pourquoi je ne la vois pas dans Aude ?",
    "validée le 29/02/2028 à 14h30, visible quand sur le site régional ?",
    "il y a vingt et un jours, toujours rien sur le site national",
    "Qu'est-ce que le délai d'affichage ?",
    "Que veut dire l'état ARCH ?",
    "!delai kairos",
    "Bonjour",
    "Merci !",
    "Quel temps fera-t-il demain à Besançon ?",
    "<script>alert(1)</script> quand sera visible <b>ma session</b> ?",
    "**quand** sera _visible_ [ma session](http://x) dans `kairos` ?",
    "\u202equand\u202c sera \u2066visible\u2069 ma \u200fsession\u200e \ufeff ?",
    "quand\x01\x02\x03\x07\x08\x0b\x0c\x1b[31m sera visible\x7f ma session ?",
    "ＱＵＡＮＤ sera visible ma ﬁche œuvre Æ ?",
]
with open(sys.argv[1], "wb") as f:
    for l in lines:
        f.write(l.encode() + b"\n")
    f.write(b"valid\xe9e hier, quand \xc3\x28 \xff\xfe sera visible \xed\xa0\x80 \xf0\x9f\x98 ?\n")
    f.write(b"\n")
    f.write(("quand sera visible ma session dans Kairos ? " + "é" * (1 << 19)).encode() + b"\n")
    f.write(b"a" * 5000 + b"\n")
    f.write(b"derniere ligne sans fin de ligne")
PY
vg "console, 22 hostile and ordinary lines, a 1 MiB line" 0 -k "$KB" console --now 2026-11-26
check "console: every line answered" /usr/bin/python3 -c '
import sys
t = open(sys.argv[1], encoding="utf-8").read()
assert t.count("\n\n") >= 21, t.count("\n\n")' "$WORK/out.$n"

vg "ask" 0 -k "$KB" ask --now 2026-11-26 "ma session a été validée vendredi dernier, quand sera-t-elle dans Kairos ?"
vg "ask --json" 0 -k "$KB" ask --json --now 2026-11-26 "c koi le delai d affichage"
vg "ask --json, invalid UTF-8 and controls" 0 -k "$KB" ask --json --now 2026-12-31 "$(printf 'valid\xe9e le 31/12 \x01\x1b quand ?')"
vg "check" 0 -k "$KB" check
# A broken base: refused with file:line, nothing leaked on the error path.
mkdir -p "$WORK/bad" && cp "$KB"/*.ini "$WORK/bad/"
printf '[intent broken\nscore = x y z\n' >>"$WORK/bad/intents.ini"
vg "ask with a broken knowledge base" 1 -k "$WORK/bad" ask "Bonjour"
check "broken base: the error names the file" grep -q 'intents.ini' "$WORK/err.$n"
vg "unknown option" 2 --no-such-option
log "$CHECKS_OK checks passed"
