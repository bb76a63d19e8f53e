#!/usr/bin/env bash
# 12-train.sh - the intent model is data trained from knowledge/examples:
#   - the committed model.bin is the one the committed examples give
#     (`check` passes; training again gives the same bytes);
#   - training is deterministic on a small fixed set, and the model answers
#     what it was taught;
#   - an edited example makes `check` refuse the model with the fix
#     ("faqbot train"), and training makes it pass again;
#   - a new intent (examples + an answers.ini section) in a copy is
#     answered without rebuilding anything;
#   - broken example files are refused with file:line.
source "$(dirname "$0")/../lib.sh"
KB=${FAQBOT_KNOWLEDGE:-$ROOT/knowledge}
[ -x "$FAQBOT" ] || die "$FAQBOT is not built (make faqbot)"
[ -x "$ROOT/build/faqbot-train" ] || die "build/faqbot-train is not built (make faqbot)"
field() { /usr/bin/python3 -c 'import json,sys; o=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

# 1. the committed model is fresh, and reproducible byte for byte
"$FAQBOT" -k "$KB" check >"$WORK/check.log" 2>&1 || { cat "$WORK/check.log" >&2; die "check refuses the committed knowledge"; }
check "committed knowledge passes check" grep -q "knowledge OK" "$WORK/check.log"
cp -r "$KB" "$WORK/full"
"$FAQBOT" -k "$WORK/full" train >"$WORK/train-full.log" 2>&1 || { cat "$WORK/train-full.log" >&2; die "train failed"; }
check "training the committed examples gives the committed model.bin" cmp -s "$KB/model.bin" "$WORK/full/model.bin"

# 2. a small fixed set: same bytes twice, and it answers what it learned
cp -r "$KB" "$WORK/small"
rm -f "$WORK/small/examples/"*.jsonl "$WORK/small/model.bin"
cat >"$WORK/small/examples/small.jsonl" <<'EOF'
{"question": "quand sera visible ma session dans kairos ?", "intent": "display_delay"}
{"question": "combien de temps avant l'affichage sur aude ?", "intent": "display_delay"}
{"question": "ma formation validée hier, elle apparait quand ?", "intent": "display_delay"}
{"question": "que veut dire DIFF ?", "intent": "state"}
{"question": "c'est quoi l'état ARCH ?", "intent": "state"}
{"question": "SAIS ça signifie quoi ?", "intent": "state"}
{"question": "bonjour", "intent": "greeting"}
{"question": "salut tout le monde", "intent": "greeting"}
{"question": "merci beaucoup", "intent": "thanks"}
{"question": "merci pour l'info", "intent": "thanks"}
{"question": "quel temps fait-il à Dijon ?", "intent": "out_of_scope"}
{"question": "comment financer ma formation avec le CPF ?", "intent": "out_of_scope"}
{"question": "on mange où ce midi ?", "intent": "out_of_scope"}
EOF
"$FAQBOT" -k "$WORK/small" train >"$WORK/train1.log" 2>&1 || { cat "$WORK/train1.log" >&2; die "small train failed"; }
cp "$WORK/small/model.bin" "$WORK/model1.bin"
"$FAQBOT" -k "$WORK/small" train >"$WORK/train2.log" 2>&1 || die "small train (2) failed"
check "same examples, same model bytes" cmp -s "$WORK/model1.bin" "$WORK/small/model.bin"
check "train says what it wrote" grep -q "model written: .*small/model.bin (13 examples, 5 intents" "$WORK/train1.log"
"$FAQBOT" -k "$WORK/small" check >/dev/null 2>&1 || die "the small copy does not pass check"
got=$("$FAQBOT" -k "$WORK/small" ask --json "c'est quoi DIFF ?")
check "small model: a state question is a state question" [ "$(field 'o["intent"]' <<<"$got")" = state ]

# 3. an edited example makes the model stale; train fixes it
printf '{"question": "que signifie ARCH ?", "intent": "state"}\n' >>"$WORK/small/examples/small.jsonl"
if "$FAQBOT" -k "$WORK/small" check >"$WORK/stale.log" 2>&1; then die "check accepted a stale model"; fi
check "stale model: check names model.bin and the fix" grep -q "model.bin: older than the examples.*run \`faqbot train\`" "$WORK/stale.log"
sed -i 's/^platform_kairos = kairos,/platform_kairos = kairos, kayros,/' "$WORK/full/intents.ini"
if "$FAQBOT" -k "$WORK/full" check >"$WORK/stale2.log" 2>&1; then die "check accepted a model older than intents.ini"; fi
check "an intents.ini edit makes the model stale too" grep -q "faqbot train" "$WORK/stale2.log"
"$FAQBOT" -k "$WORK/small" train >/dev/null 2>&1 || die "retrain failed"
check "after train, check passes" "$FAQBOT" -k "$WORK/small" check

# 4. a new intent, defined in knowledge only: examples + an answer
cp -r "$KB" "$WORK/new"
cat >"$WORK/new/examples/60-horaires.jsonl" <<'EOF'
{"question": "quels sont les horaires d'ouverture du support ?", "intent": "horaires"}
{"question": "à quelle heure ouvre la hotline d'Emfor ?", "intent": "horaires"}
{"question": "le support est ouvert le samedi ?", "intent": "horaires"}
{"question": "vous êtes joignables jusqu'à quelle heure ?", "intent": "horaires"}
{"question": "horaires du support svp", "intent": "horaires"}
{"question": "la permanence téléphonique c'est quels jours ?", "intent": "horaires"}
{"question": "vous fermez à quelle heure le vendredi ?", "intent": "horaires"}
{"question": "le support est-il ouvert entre midi et deux ?", "intent": "horaires"}
{"question": "quelles sont vos heures d'ouverture ?", "intent": "horaires"}
{"question": "c'est ouvert le lundi matin ?", "intent": "horaires"}
EOF
if "$FAQBOT" -k "$WORK/new" train >"$WORK/new-noanswer.log" 2>&1 &&
   "$FAQBOT" -k "$WORK/new" check >>"$WORK/new-noanswer.log" 2>&1; then
	die "an intent without an answer was accepted"
fi
check "an intent without an answer: the fix is named" grep -q 'no answer for the intent "horaires".*\[horaires\]' "$WORK/new-noanswer.log"
printf '\n[horaires]\ntext = Le support de l’équipe Offre répond du lundi au vendredi, de 9 h à 17 h (texte de test).\n' >>"$WORK/new/answers.ini"
"$FAQBOT" -k "$WORK/new" train >/dev/null 2>&1 || die "train with the new intent failed"
"$FAQBOT" -k "$WORK/new" check >/dev/null 2>&1 || die "check refuses the new intent"
got=$("$FAQBOT" -k "$WORK/new" ask --json "vous êtes ouverts à quelle heure le mardi ?")
check "new intent: answered by its name" [ "$(field 'o["intent"]' <<<"$got")" = horaires ]
check "new intent: with its answer" grep -qF "du lundi au vendredi, de 9 h à 17 h" <<<"$(field 'o["answer"]' <<<"$got")"
got=$("$FAQBOT" -k "$WORK/new" ask --json "Ma session a été validée le 20/11/2026, quand sera-t-elle visible dans Kairos ?")
check "new intent: the others are unchanged" [ "$(field 'o["intent"]' <<<"$got")" = display_delay ]

# 5. broken example files: file:line and the fix
printf '{"question": "ok", "intent": "Bad Name"}\n' >"$WORK/small/examples/zz.jsonl"
if "$FAQBOT" -k "$WORK/small" train >"$WORK/bad.log" 2>&1; then die "a bad intent name was accepted"; fi
check "bad intent name: file:line" grep -q "examples/zz.jsonl:1: \"intent\" must be an intent name" "$WORK/bad.log"
printf '{"question": "ok", "intent": "thanks"}\nnot json\n' >"$WORK/small/examples/zz.jsonl"
if "$FAQBOT" -k "$WORK/small" train >"$WORK/bad.log" 2>&1; then die "a line of garbage was accepted"; fi
check "not JSON: file:line" grep -q "examples/zz.jsonl:2: not a JSON object" "$WORK/bad.log"
printf '{"question": "ok",\0 "intent": "thanks"}\n' >"$WORK/small/examples/zz.jsonl"
if "$FAQBOT" -k "$WORK/small" train >"$WORK/bad.log" 2>&1; then die "a NUL byte was accepted"; fi
check "NUL byte: file:line" grep -q "examples/zz.jsonl:1: a NUL byte" "$WORK/bad.log"
rm -f "$WORK/small/examples/zz.jsonl"
mkfifo "$WORK/small/examples/fifo.jsonl"
if timeout 10 "$FAQBOT" -k "$WORK/small" train >"$WORK/bad.log" 2>&1; then die "a FIFO was accepted"; fi
check "FIFO: refused at once, named" grep -q "fifo.jsonl: not a regular file" "$WORK/bad.log"
rm -f "$WORK/small/examples/fifo.jsonl"
rm -f "$WORK/small/model.bin"
if "$FAQBOT" -k "$WORK/small" ask "bonjour" >"$WORK/nomodel.log" 2>&1; then die "ask without a model succeeded"; fi
check "no model.bin: ask says to run faqbot train" grep -q "model.bin: .*faqbot train" "$WORK/nomodel.log"
log "$CHECKS_OK checks passed"
