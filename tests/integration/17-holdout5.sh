#!/usr/bin/env bash
# 17-holdout5: the held-out set of the learned engine (tests/data/holdout5.jsonl,
# 220 questions), written blind by a red team that read only domain.md and
# the source page: voices the training examples lack (vague descriptions
# of the tools, misnamed platforms, conditional mood, pasted errors,
# questions as statements ending in "non ?").  It is NOT in
# knowledge/examples: the model never trained on it.  First measured
# 96.4 % (212/220) fully right, once, when the engine was finished; a
# quality floor here (fails below HOLDOUT5_MIN), not a target.  Add it to
# the examples only together with a new blind set to replace it.
HOLDOUT_MIN=${HOLDOUT5_MIN:-94.0} exec bash "$(dirname "$0")/14-holdout.sh" \
	"$(cd "$(dirname "$0")/../.." && pwd)/tests/data/holdout5.jsonl"
