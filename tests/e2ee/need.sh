#!/bin/sh
# Makes sure the Python references of the E2EE unit tests are installed:
# python3-canonicaljson, python3-signedjson, python3-olm (Debian bookworm).
# Installs what is missing when root; otherwise a failure, never a skip.
/usr/bin/python3 -c 'import canonicaljson, signedjson.sign, unpaddedbase64, olm' 2>/dev/null && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing: sudo apt-get install python3-canonicaljson python3-signedjson python3-olm" >&2
	exit 1
fi
(
	flock 9
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		python3-canonicaljson python3-signedjson python3-olm >/dev/null 2>&1 ||
	{ apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends python3-canonicaljson python3-signedjson python3-olm >/dev/null 2>&1; }
) 9>/tmp/faqbot-apt.lock
/usr/bin/python3 -c 'import canonicaljson, signedjson.sign, unpaddedbase64, olm'
