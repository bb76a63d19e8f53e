#!/usr/bin/env bash
# `make fuzz [FUZZ_SECONDS=60]`: builds every tests/fuzz/fuzz_*.c with
# libFuzzer + ASan + UBSan (Debian's clang) and runs each for a set time on
# a copy of its seed corpus (tests/fuzz/corpus/NAME/) with its dictionary
# (tests/fuzz/NAME.dict) when there is one, and the extra libFuzzer flags
# of tests/fuzz/NAME.options (one line, e.g. -max_len=65536) when there is one.  Every file of
# tests/fuzz/regressions/NAME/ (crashes found earlier) is replayed first.
# Every target links the real bot/ objects: nothing is swapped at link time
# (the Matrix target gives the client a fake I/O through mxnet_start_io).
# Exit 1 when any target crashes, leaks or fails to build.  The targets'
# own stderr (log lines) is closed; libFuzzer's and the sanitizers' reports
# still reach build/fuzz/NAME.log.  FUZZ_BUILD changes the build directory.
# Usage: tests/fuzz/run.sh [SECONDS] [NAME...]
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}; shift || true
B=${FUZZ_BUILD:-build/fuzz}
mkdir -p "$B"
if ! command -v clang >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang libclang-rt-14-dev >"$B/apt.log" 2>&1 ||
			{ echo "fuzz: cannot install clang libclang-rt-14-dev (see $B/apt.log)"; exit 1; }
	else
		echo "fuzz: needs clang and libclang-rt-14-dev: sudo apt-get install clang libclang-rt-14-dev"; exit 1
	fi
fi
PKGS="libcurl libcjson olm sqlite3 libutf8proc openssl libsystemd"
CF="-std=c11 -g -O1 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -DFAQBOT_FUZZ -Iinclude $(pkg-config --cflags $PKGS) -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
# Library objects once, shared by all targets.
objs=()
for c in bot/*/*.c; do
	case $c in bot/train/*) continue ;; esac
	o="$B/obj/$(basename "$c" .c).o"; mkdir -p "$B/obj"
	if [ ! -f "$o" ] || [ "$c" -nt "$o" ] || [ -n "$(find include -newer "$o" -name '*.h' | head -1)" ]; then
		clang $CF -c "$c" -o "$o" || { echo "fuzz: build of $c failed"; exit 1; }
	fi
	objs+=("$o")
done
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in tests/fuzz/fuzz_*.c; do n=$(basename "$f" .c); names+=("${n#fuzz_}"); done
fi
rc=0
for n in "${names[@]}"; do
	src=tests/fuzz/fuzz_$n.c
	bin=$B/fuzz_$n
	clang $CF -Itests/fuzz -fsanitize=fuzzer "$src" "${objs[@]}" -o "$bin" $(pkg-config --libs $PKGS) -lm ||
		{ echo "fuzz: build of $src failed"; rc=1; continue; }
	if [ -d tests/fuzz/regressions/$n ] && [ -n "$(ls -A tests/fuzz/regressions/$n)" ]; then
		"$bin" -runs=0 tests/fuzz/regressions/$n/* >"$B/$n.regress.log" 2>&1 ||
			{ echo "fuzz: $n: a regression input fails again:"; tail -30 "$B/$n.regress.log"; rc=1; continue; }
	fi
	work=$B/corpus-$n; rm -rf "$work"; mkdir -p "$work"
	[ -d tests/fuzz/corpus/$n ] && cp -r tests/fuzz/corpus/$n/. "$work/"
	dict=(); [ -f tests/fuzz/$n.dict ] && dict=(-dict=tests/fuzz/$n.dict)
	opts=(-max_len=8192); [ -f tests/fuzz/$n.options ] && read -r -a opts <tests/fuzz/$n.options
	mkdir -p "$B/artifacts-$n"
	if "$bin" "$work" "${dict[@]}" -max_total_time="$secs" "${opts[@]}" -timeout=10 -rss_limit_mb=2048 -close_fd_mask=2 \
		-artifact_prefix="$B/artifacts-$n/" -print_final_stats=1 >"$B/$n.log" 2>&1; then
		execs=$(grep -m1 'stat::number_of_executed_units' "$B/$n.log" | awk '{print $2}')
		cov=$(grep -E '^#[0-9]+' "$B/$n.log" | tail -1 | grep -o 'cov: [0-9]*' || true)
		echo "fuzz: $n: ok, ${secs}s, ${execs:-?} executions, ${cov:-cov: ?}, corpus $(ls "$work" | wc -l)"
	else
		echo "fuzz: $n: FAILED (artifacts in $B/artifacts-$n/)"; grep -A30 -m1 'ERROR\|==ERROR\|runtime error\|deadly signal' "$B/$n.log" | head -40
		rc=1
	fi
done
exit $rc
