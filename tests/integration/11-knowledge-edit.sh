#!/usr/bin/env bash
# 11-knowledge-edit.sh - the knowledge is data: a copy of knowledge/ with a
# changed delay, a changed template and an extra closure day changes the
# answers of `faqbot -k COPY ask` without recompiling; a broken copy makes
# `check` (and `ask`) exit 1 with file:line, at once: a NUL byte, a FIFO,
# a symbolic link to /dev/zero, a directory or a file over 4 MiB in place
# of a knowledge file is refused (it used to load, block or read forever).
source "$(dirname "$0")/../lib.sh"
KB=${FAQBOT_KNOWLEDGE:-$ROOT/knowledge}
[ -x "$FAQBOT" ] || die "$FAQBOT is not built (make faqbot)"
Q="Ma session a été validée le 20/11/2026, quand sera-t-elle visible dans Kairos ?"
QG="Combien de temps faut-il pour qu'une session soit visible dans Kairos ?"
field() { /usr/bin/python3 -c 'import json,sys; o=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

cp -r "$KB" "$WORK/kb"
"$FAQBOT" -k "$WORK/kb" check >/dev/null || die "the copy does not pass check"
before=$("$FAQBOT" -k "$WORK/kb" ask --json --now 2026-11-26 "$Q")
check "copy: France Travail window closes on 1 December" [ "$(field 'o["dates"]["france_travail_max"]' <<<"$before")" = 2026-12-01 ]

# a delay: ft_max 7 -> 9 working days
sed -i '/^\[ft_max\]/,/^\[/ s/^delay = 7$/delay = 9/' "$WORK/kb/stages.ini"
grep -A3 '^\[ft_max\]' "$WORK/kb/stages.ini" | grep -q '^delay = 9$' || die "sed did not change ft_max"
after=$("$FAQBOT" -k "$WORK/kb" ask --json --now 2026-11-26 "$Q")
check "delay edit: window now closes on 3 December" [ "$(field 'o["dates"]["france_travail_max"]' <<<"$after")" = 2026-12-03 ]
check "delay edit: the answer says jeudi 3 décembre 2026" grep -qF "jeudi 3 décembre 2026" <<<"$(field 'o["answer"]' <<<"$after")"
general=$("$FAQBOT" -k "$WORK/kb" ask --now 2026-11-26 "$QG")
check "delay edit: the general answer says 2 à 9 jours ouvrés" grep -qF "2 à 9 jours ouvrés" <<<"$general"
orig=$("$FAQBOT" -k "$KB" ask --json --now 2026-11-26 "$Q")
check "delay edit: the bundled knowledge is unchanged" [ "$(field 'o["dates"]["france_travail_max"]' <<<"$orig")" = 2026-12-01 ]

# an extra closure day moves the working days
printf '2026-11-24 = Fermeture exceptionnelle (test)\n' >>"$WORK/kb/calendar.ini"
closed=$("$FAQBOT" -k "$WORK/kb" ask --json --now 2026-11-26 "$Q")
check "closure day: RCO visible moves to 25 November" [ "$(field 'o["dates"]["rco_visible"]' <<<"$closed")" = 2026-11-25 ]

# a template
sed -i 's/^within = .*/within = TEXTE-MODIFIÉ jusqu’au {close}./' "$WORK/kb/answers.ini"
text=$("$FAQBOT" -k "$WORK/kb" ask --now 2026-11-26 "$Q")
check "template edit: the new text is used" grep -qF "TEXTE-MODIFIÉ jusqu’au" <<<"$text"
check "template edit: bundled text unchanged" bash -c '! grep -qF TEXTE-MODIFIÉ <<<"$1"' _ "$("$FAQBOT" -k "$KB" ask --now 2026-11-26 "$Q")"

# broken copies: check exits 1 with file:line, ask refuses too
broken() { # name, file, expected line ("" for none), expected text
	local rc=0 where="$WORK/bad/$2:${3:+$3:} $4"
	timeout 20 "$FAQBOT" -k "$WORK/bad" check >"$WORK/out" 2>"$WORK/err" || rc=$?
	check "$1: check exits 1" [ $rc = 1 ]
	check "$1: $2${3:+:$3} in the message" grep -qF "$where" "$WORK/err"
	rc=0
	timeout 20 "$FAQBOT" -k "$WORK/bad" ask "$Q" >"$WORK/out" 2>"$WORK/err" || rc=$?
	check "$1: ask exits 1" [ $rc = 1 ]
	check "$1: ask prints no answer" [ ! -s "$WORK/out" ]
}
rm -rf "$WORK/bad"; cp -r "$KB" "$WORK/bad"
line=$(grep -n '^unit = working' "$WORK/bad/stages.ini" | head -1 | cut -d: -f1)
sed -i "${line}s/working/ouvres/" "$WORK/bad/stages.ini"
broken "bad unit" stages.ini "$line" "unit \`ouvres\` is unknown"

rm -rf "$WORK/bad"; cp -r "$KB" "$WORK/bad"
line=$(grep -n '^\[ft_min\]' "$WORK/bad/stages.ini" | cut -d: -f1)
sed -i '/^\[ft_min\]/,/^\[/ {/^source = /d}' "$WORK/bad/stages.ini"
broken "missing source" stages.ini "$line" "stage [ft_min] has no \`source\`"

rm -rf "$WORK/bad"; cp -r "$KB" "$WORK/bad"
n=$(($(wc -l <"$WORK/bad/answers.ini") + 2))
printf '\n[help]\n' >>"$WORK/bad/answers.ini"
broken "duplicate section" answers.ini "$n" "section [help] appears twice"

rm -rf "$WORK/bad"; cp -r "$KB" "$WORK/bad"
n=$(($(wc -l <"$WORK/bad/calendar.ini") + 1))
printf '2026-11-31 = pas un jour\n' >>"$WORK/bad/calendar.ini"
broken "bad closure date" calendar.ini "$n" "\`2026-11-31\` is not a date"

rm -rf "$WORK/bad"; cp -r "$KB" "$WORK/bad"
n=$(($(wc -l <"$WORK/bad/calendar.ini") + 1))
/usr/bin/python3 -c 'import sys; sys.stdout.write("2026-12-24 = " + "x" * (1 << 20) + "\n")' >>"$WORK/bad/calendar.ini"
broken "1 MB line" calendar.ini "$n" "line longer than 4096 bytes"

rm -rf "$WORK/bad"; cp -r "$KB" "$WORK/bad"
/usr/bin/python3 -c 'import sys; sys.stdout.write(("# " + "x" * 1000 + "\n") * 10000)' >>"$WORK/bad/calendar.ini"
broken "10 MB file" calendar.ini "" "over the limit of 4194304 bytes (4 MiB)"

# Not text: every knowledge file, through both readers (kb.c and intent.c).
for f in lexicon.ini intents.ini stages.ini; do
	rm -rf "$WORK/bad"; cp -r "$KB" "$WORK/bad"
	/usr/bin/python3 - "$WORK/bad/$f" <<'PY'
import sys
p = sys.argv[1]
lines = open(p, "rb").read().split(b"\n")
lines[2] = lines[2] + b"\0 tail"
open(p, "wb").write(b"\n".join(lines))
PY
	broken "NUL byte in $f" "$f" 3 "NUL byte"
	rm -f "$WORK/bad/$f"; mkfifo "$WORK/bad/$f"
	broken "$f is a FIFO" "$f" "" "is a FIFO (named pipe), not a regular file"
	rm -f "$WORK/bad/$f"; ln -s /dev/zero "$WORK/bad/$f"
	broken "$f is a link to /dev/zero" "$f" "" "is a character device, not a regular file"
	rm -f "$WORK/bad/$f"; mkdir "$WORK/bad/$f"
	broken "$f is a directory" "$f" "" "is a directory, not a regular file"
done
log "$CHECKS_OK checks passed"
