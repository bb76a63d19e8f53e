#!/usr/bin/env bash
# The checkers can fail (issue 6): each patch of tests/planted/ plants a
# real bug in a copy of the tree (a heap overflow, a leak, a signed
# overflow), the copy is rebuilt, and the project's own checks are run on
# it: the ASan + UBSan integration run, the libFuzzer target, valgrind
# memcheck and the UBSan unit tests.  Each must fail and name the bug; the
# checks of the real tree (the other suites) are the same scripts, so a
# check that silently passed everything would show here.  The inner runs'
# output is kept in this suite's log, FAIL lines and sanitizer reports
# included: that is the proof.
NEEDS_FAQBOT=0 # builds its own copies
source "$(dirname "$0")/../lib.sh"
need_debs patch valgrind clang libclang-rt-14-dev
COPY=$WORK/tree
cd "$ROOT"

# The copy: sources, tests and the already built objects, timestamps kept
# so that make and tests/fuzz/run.sh rebuild only the patched file.
mkdir -p "$COPY"
cp -a bot include knowledge tests Makefile "$COPY/"
[ -d build ] && cp -a build "$COPY/" && rm -rf "$COPY/build/logs" "$COPY"/build/fuzz/corpus-* "$COPY"/build/fuzz/artifacts-*
[ -d ../shared ] && ln -s "$(cd ../shared && pwd)" "$WORK/shared"

# plant NAME: applies tests/planted/NAME.patch to the copy and rebuilds it.
plant() {
	check "$1: the planted bug applies (else regenerate tests/planted/$1.patch)" \
		patch -d "$COPY" -p1 --no-backup-if-mismatch -s -i "$ROOT/tests/planted/$1.patch"
	check "$1: the copy builds with the bug" \
		make -s -C "$COPY" faqbot asan unit unit-asan
}
# unplant NAME: takes the patch back out.
unplant() {
	patch -d "$COPY" -p1 -R --no-backup-if-mismatch -s -i "$ROOT/tests/planted/$1.patch"
}
# inner LOG CMD...: runs a check of the copy (its own lib.sh, WORK and
# sanitizer settings), output to LOG and to this log; returns its status.
inner() {
	local out=$1 rc=0; shift
	( cd "$COPY" && env -u ASAN_OPTIONS -u UBSAN_OPTIONS -u WORK "$@" ) >"$out" 2>&1 || rc=$?
	grep -E 'FAIL|ERROR|runtime error|lost|SUMMARY|#[0-9] .* in ' "$out" | head -n 40 | sed 's/^/    inner| /' >&2
	return $rc
}
fails() { ! inner "$@"; }

# 1. A heap overflow in the question path.
plant asan-overflow
check "heap overflow: the ASan + UBSan integration run (10-cli) fails" \
	fails "$WORK/o-cli.log" bash tests/integration/10-cli.sh
check "... with ASan's report of a heap-buffer-overflow in ask_question" \
	bash -c "grep -q 'sanitizer report' '$WORK/o-cli.log' && grep -q 'heap-buffer-overflow' '$WORK/o-cli.log' && grep -q 'ask_question' '$WORK/o-cli.log'"
check "heap overflow: the libFuzzer target (question) fails" \
	fails "$WORK/o-fuzz.log" tests/fuzz/run.sh 30 question
check "... with ASan's report of it" grep -q "heap-buffer-overflow" "$WORK/o-fuzz.log"
check "... in the planted code" grep -q "ask_question" "$WORK/o-fuzz.log"
unplant asan-overflow

# 2. A leak in the question path.
plant leak
check "leak: valgrind memcheck (90-valgrind) fails" \
	fails "$WORK/l-vg.log" bash tests/integration/90-valgrind.sh
check "... with memcheck's definite leak in ask_question" \
	bash -c "grep -q 'definitely lost' '$WORK/l-vg.log' && grep -q 'ask_question' '$WORK/l-vg.log'"
check "leak: the ASan unit test of the question path fails" \
	fails "$WORK/l-unit.log" build/tests-asan/test_answers
check "... with LeakSanitizer's report" grep -q "detected memory leaks" "$WORK/l-unit.log"
unplant leak

# 3. A signed overflow (undefined behaviour) in the calendar.
plant ubsan-overflow
check "signed overflow: the UBSan unit test of the calendar fails" \
	fails "$WORK/u-unit.log" env UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 build/tests-asan/test_cal
check "... with UBSan's report" grep -q "runtime error: signed integer overflow" "$WORK/u-unit.log"
check "signed overflow: the plain unit test passes (only UBSan sees it)" \
	inner "$WORK/u-plain.log" build/tests/test_cal
unplant ubsan-overflow

for f in $(sed -n 's|^+++ b/||p' tests/planted/*.patch | sort -u); do
	check "$f: the copy is back to the real file" cmp -s "$ROOT/$f" "$COPY/$f"
done
CHECKS_DONE=1
log "$CHECKS_OK checks passed"
