#!/usr/bin/env bash
# Runs every test: cmocka unit tests (plain, then under ASan+UBSan), then
# each tests/integration/NN-*.sh in order.  Prints one line per suite and
# a closing "N passed, N failed" line.  Exit 1 if anything failed.
# FAQBOT_TESTS="unit integration/10-dev" style filters: a space-separated
# list of substrings; only suites whose name contains one of them run.
set -u
cd "$(dirname "$0")/.."
B=build
pass=0; fail=0; failed=()
mkdir -p "$B/logs"
# Secrets the integration scripts register for 96-secrets.sh: one run's worth.
rm -f "$B/test-secrets.txt"

selected() {
	[ -z "${FAQBOT_TESTS:-}" ] && return 0
	local f; for f in $FAQBOT_TESTS; do case "$1" in *"$f"*) return 0;; esac; done
	return 1
}

run_suite() { # name, command...
	local name=$1; shift
	selected "$name" || return 0
	local log="$B/logs/$(echo "$name" | tr '/ ' '__').log"
	local t0=$(date +%s)
	if "$@" >"$log" 2>&1; then
		pass=$((pass+1)); printf 'PASS %-40s (%ss)\n' "$name" $(( $(date +%s) - t0 ))
	else
		fail=$((fail+1)); failed+=("$name")
		printf 'FAIL %-40s (%ss) log: %s\n' "$name" $(( $(date +%s) - t0 )) "$log"
		tail -n 40 "$log" | sed 's/^/    | /'
	fi
}

if [ -d ../shared/spec ]; then
	echo "tests: ../shared/ found: the dev questions and the IRC parser-tests run too"
else
	echo "tests: ../shared/ is not beside this checkout: the dev-question and parser-test suites are not run (the project's own tests still are)"
fi

have_shared=0; [ -d ../shared/spec ] && have_shared=1
# Suites whose name holds "shared" read ../shared/ and run only when it is there.
needs_shared() { case "$1" in *shared*) [ $have_shared = 0 ];; *) return 1;; esac; }

for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	needs_shared "$t" && continue
	run_suite "unit/$(basename "$t")" "$t"
done
for t in "$B"/tests-asan/test_*; do
	[ -x "$t" ] || continue
	needs_shared "$t" && continue
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		run_suite "unit-asan/$(basename "$t")" "$t"
done
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	needs_shared "$t" && continue
	run_suite "integration/$(basename "$t" .sh)" bash "$t"
done

echo
if [ $fail -gt 0 ]; then
	echo "failed suites: ${failed[*]}"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
