#!/usr/bin/env bash
# Engine benchmark (issue 2), three figures:
#   engine      questions answered per second in-process on one core, over
#               our questions and ../shared's dev questions, and the time to
#               load the knowledge (best of 20 loads);
#   faqbot ask  mean wall time of one `./faqbot ask` process (hyperfine -N,
#               many runs; a bash loop when hyperfine cannot be installed),
#               beside /bin/true run the same way: on a busy machine the
#               floor rises and so does everything else;
#   peak RSS    of one `./faqbot ask` (/usr/bin/time %M, lowest of 5 runs).
# Targets: 200,000 questions/s, 5 ms and 6 MiB.  Not a test: nothing is
# asserted.  BENCH_RUNS sets the number of timed processes (default 300).
set -euo pipefail
cd "$(dirname "$0")/../.."
B=build/bench
RUNS=${BENCH_RUNS:-300}
mkdir -p "$B"
make -s faqbot build/libfaqbot.a
cc -std=c11 -O2 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -Iinclude $(pkg-config --cflags libutf8proc libcjson) \
	tests/bench/engine_bench.c build/libfaqbot.a -o "$B/engine_bench" \
	-Wl,--as-needed $(pkg-config --libs libcurl libcjson olm sqlite3 libutf8proc openssl) -lm
qs=knowledge/examples/10-own.jsonl
[ -f ../shared/spec/questions-dev.jsonl ] && qs="$qs ../shared/spec/questions-dev.jsonl"
cat $qs | /usr/bin/python3 -c 'import sys,json; [print(json.loads(l)["question"].replace("\n"," ")) for l in sys.stdin if l.strip()]' >"$B/questions.txt"
taskset -c 0 "$B/engine_bench" knowledge "$B/questions.txt" 3 2>/dev/null ||
	"$B/engine_bench" knowledge "$B/questions.txt" 3

# Tools are Debian packages; installed when we may, else the fallback below.
if [ "$(id -u)" = 0 ]; then
	command -v hyperfine >/dev/null || apt-get install -y -q hyperfine >/dev/null 2>&1 || true
	[ -x /usr/bin/time ] || apt-get install -y -q time >/dev/null 2>&1 || true
fi

Q="Ma session a été validée le 20/11/2026, quand sera-t-elle visible dans Kairos ?"
ASK=(./faqbot ask --now 2026-11-26 "$Q")
"${ASK[@]}" >/dev/null || { echo "faqbot ask failed" >&2; exit 1; }
if command -v hyperfine >/dev/null; then
	# mean in ms of each command, from hyperfine's JSON export
	hyperfine -N -w 20 -r "$RUNS" --export-json "$B/ask.json" "${ASK[*]@Q}" /bin/true >/dev/null 2>&1
	read -r ask_ms true_ms < <(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(" ".join("%.2f" % (x["mean"]*1e3) for x in r))' "$B/ask.json")
	how="hyperfine -N, mean of $RUNS"
else
	loop() { local t0 t1; t0=$(date +%s%N); for ((i = 0; i < RUNS; i++)); do "$@" >/dev/null; done; t1=$(date +%s%N); awk -v ns=$((t1 - t0)) -v n="$RUNS" 'BEGIN { printf "%.2f", ns / n / 1e6 }'; }
	ask_ms=$(loop "${ASK[@]}")
	true_ms=$(loop /bin/true)
	how="bash loop, mean of $RUNS (hyperfine not installed)"
fi
printf 'faqbot ask: %s ms wall per process (%s; /bin/true: %s ms)\n' "$ask_ms" "$how" "$true_ms"
if [ -x /usr/bin/time ]; then
	rss=$(for i in 1 2 3 4 5; do /usr/bin/time -f %M "${ASK[@]}" 2>&1 >/dev/null | tail -1; done | sort -n | head -1)
	awk -v k="$rss" 'BEGIN { printf "faqbot ask: peak RSS %.1f MiB (/usr/bin/time, lowest of 5)\n", k / 1024 }'
else
	echo "faqbot ask: peak RSS not measured (/usr/bin/time missing: apt-get install time)"
fi
libs=$(readelf -d faqbot 2>/dev/null | grep -c NEEDED || true)
echo "faqbot ask: ./faqbot loads $libs shared libraries (readelf -d)"
