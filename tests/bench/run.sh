#!/usr/bin/env bash
# `make bench`: runs every tests/bench/NN-*.sh in order; each prints its
# figures.  Results are also appended to build/bench/results.txt.
set -u
cd "$(dirname "$0")/../.."
mkdir -p build/bench
rc=0
for b in tests/bench/[0-9]*.sh; do
	[ -f "$b" ] || continue
	echo "== $(basename "$b" .sh)"
	bash "$b" 2>&1 | tee -a build/bench/results.txt || rc=1
done
exit $rc
