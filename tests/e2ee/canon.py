#!/usr/bin/python3
# Reference canonical JSON for tests/unit/test_canonjson.c: reads one JSON
# document per line of the file in argv[1], writes the python3-canonicaljson
# encoding of each, one per line, to stdout (bytes, UTF-8).
import json, sys
import canonicaljson

with open(sys.argv[1], "rb") as f:
    for line in f.read().split(b"\n"):
        if not line:
            continue
        sys.stdout.buffer.write(canonicaljson.encode_canonical_json(json.loads(line)) + b"\n")
