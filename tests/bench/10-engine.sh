#!/usr/bin/env bash
# Engine benchmark: questions/s in-process on one core, and the cost of one
# `faqbot ask` process (wall time over many runs, peak RSS by /usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/../.."
B=build/bench
mkdir -p "$B"
make -s faqbot build/libfaqbot.a
cc -std=c11 -O2 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -Iinclude $(pkg-config --cflags libutf8proc libcjson) \
	tests/bench/engine_bench.c build/libfaqbot.a -o "$B/engine_bench" \
	$(pkg-config --libs libcurl libcjson olm sqlite3 libutf8proc inih openssl) -lm
qs=tests/data/questions.jsonl
[ -f ../shared/spec/questions-dev.jsonl ] && qs="$qs ../shared/spec/questions-dev.jsonl"
cat $qs | /usr/bin/python3 -c 'import sys,json; [print(json.loads(l)["question"].replace("\n"," ")) for l in sys.stdin if l.strip()]' >"$B/questions.txt"
taskset -c 0 "$B/engine_bench" knowledge "$B/questions.txt" 3 || "$B/engine_bench" knowledge "$B/questions.txt" 3

[ -x /usr/bin/time ] || { [ "$(id -u)" = 0 ] && apt-get install -y -q time >/dev/null; }
Q="Ma session a été validée le 20/11/2026, quand sera-t-elle visible dans Kairos ?"
n=200
t0=$(date +%s%N)
for ((i = 0; i < n; i++)); do ./faqbot ask --now 2026-11-26 "$Q" >/dev/null; done
t1=$(date +%s%N)
rss=$(/usr/bin/time -f %M ./faqbot ask --now 2026-11-26 "$Q" 2>&1 >/dev/null | tail -1)
awk -v ns=$((t1 - t0)) -v n=$n -v rss="$rss" 'BEGIN { printf "faqbot ask: %.2f ms wall per process (mean of %d), peak RSS %.1f MiB\n", ns / n / 1e6, n, rss / 1024 }'
