#!/usr/bin/env bash
# Every libFuzzer target of tests/fuzz/ (issue 6) briefly, so that CI
# catches a regression: each is built with ASan + UBSan, replays its
# tests/fuzz/regressions/NAME/ inputs (crashes found earlier), then fuzzes
# for FUZZ_SMOKE_SECONDS (default 10) from its seed corpus.  Fails when a
# target does not build, crashes, leaks, or an old crash comes back.
NEEDS_FAQBOT=0 # the targets are built from bot/*.c by tests/fuzz/run.sh
source "$(dirname "$0")/../lib.sh"
need_debs clang libclang-rt-14-dev
secs=${FUZZ_SMOKE_SECONDS:-10}
cd "$ROOT"
targets=()
for f in tests/fuzz/fuzz_*.c; do n=$(basename "$f" .c); targets+=("${n#fuzz_}"); done
check "fuzz targets exist (${#targets[@]})" [ ${#targets[@]} -ge 8 ]
for n in "${targets[@]}"; do
	check "$n: has a seed corpus" [ -n "$(ls -A "tests/fuzz/corpus/$n" 2>/dev/null)" ]
done
# libFuzzer sets its own sanitizer options: lib.sh's log_path would hide
# the report from run.sh's output.
rc=0
env -u ASAN_OPTIONS -u UBSAN_OPTIONS tests/fuzz/run.sh "$secs" "${targets[@]}" >"$WORK/fuzz.log" 2>&1 || rc=$?
cat "$WORK/fuzz.log" >&2
check "tests/fuzz/run.sh $secs: exit 0 (got $rc)" [ $rc = 0 ]
for n in "${targets[@]}"; do
	check "$n: ran ${secs}s without a finding" grep -q "^fuzz: $n: ok" "$WORK/fuzz.log"
	if [ -d "tests/fuzz/regressions/$n" ]; then
		check "$n: regression inputs replayed" grep -q "Running: tests/fuzz/regressions/$n/" "build/fuzz/$n.regress.log"
	fi
done
log "$CHECKS_OK checks passed"
