#!/usr/bin/env bash
# 13-shared-dev-questions: the 120 labelled questions of
# ../shared/spec/questions-dev.jsonl through `faqbot ask --json`, judged as
# 12-questions does, `dates` and `status` included (they come from an
# implementation of domain.md written apart from ours).
. "$(dirname "$0")/../lib.sh"
DEV=$SHARED/spec/questions-dev.jsonl
[ -f "$DEV" ] || die "$DEV is missing (this suite needs ../shared beside the checkout)"
bash "$ROOT/tests/integration/12-questions.sh" "$DEV"
