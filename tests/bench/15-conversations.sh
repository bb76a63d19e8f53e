#!/usr/bin/env bash
# Conversations (issue 13): the memory of 10,000 live conversations over the
# idle size (target <= 10 MiB) and questions/s with and without them.  Not
# a test: nothing is asserted.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=build/bench
mkdir -p "$B"
make -s build/libfaqbot.a
cc -std=c11 -O2 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -Iinclude $(pkg-config --cflags libutf8proc libcjson) \
	tests/bench/conv_bench.c build/libfaqbot.a -o "$B/conv_bench" \
	-Wl,--as-needed $(pkg-config --libs libcurl libcjson olm sqlite3 libutf8proc openssl) -lm
taskset -c 0 "$B/conv_bench" knowledge 10000 2>/dev/null || "$B/conv_bench" knowledge 10000
