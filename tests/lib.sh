# tests/lib.sh - shared helpers for integration scripts (source it).
# Servers are started on 127.0.0.1, on ports chosen free, and stopped by PID
# in the EXIT trap.  A missing tool is installed with apt-get when running
# as root, and is otherwise a failure (never a skip).
# Scripts under tests/integration/ run the sanitizer build: FAQBOT defaults
# to build/faqbot-asan (ASan + UBSan, reports written under $WORK/asan/),
# and the EXIT trap fails the script when any sanitizer report exists.
# Every secret a script uses (registered with `secret VALUE`, and every
# password / token / pickle key found in the .ini files under $WORK) must
# appear in no log: the EXIT trap greps $WORK's *.log files and fails.
# Other callers (tests/bench/) keep the optimised ./faqbot.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
CACHE=${FAQBOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faqbot-tests}
mkdir -p "$CACHE"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/faqbot-test.XXXXXX")
_PIDS=()
_CLEANUPS=()
_SECRETS=()

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# The sourcing script: integration scripts get the sanitizer build.
_CALLER=$(cd "$(dirname "${BASH_SOURCE[1]:-$0}")" 2>/dev/null && pwd || true)
SANITIZE=0
# A script that never starts the bot sets NEEDS_FAQBOT=0 before sourcing.
if [ -z "${FAQBOT:-}" ] && [ "$_CALLER" = "$ROOT/tests/integration" ] && [ "${NEEDS_FAQBOT:-1}" = 1 ]; then
	SANITIZE=1
	FAQBOT=$ROOT/build/faqbot-asan
	[ -x "$FAQBOT" ] || die "$FAQBOT is missing: make asan (make test builds it)"
	[ -x "$ROOT/faqbot" ] && [ "$FAQBOT" -ot "$ROOT/faqbot" ] &&
		die "$FAQBOT is older than ./faqbot: make asan (make test builds it)"
fi
FAQBOT=${FAQBOT:-$ROOT/faqbot}
# log_path: reports land in files (stderr checks stay exact), one per
# process: asan.PID / ubsan.PID.  Set for every script: a sanitizer build
# started another way (FAQBOT given, servers.sh, bot.sh) reports there too.
mkdir -p "$WORK/asan"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$WORK/asan/asan${FAQBOT_ASAN_OPTIONS:+:$FAQBOT_ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$WORK/asan/ubsan"

# secret VALUE...: registers values that must never appear in a log.
secret() {
	local v
	for v in "$@"; do [ ${#v} -ge 4 ] && _SECRETS+=("$v"); done
	return 0
}

# Secrets found under $WORK, one per line (those of 6 bytes or more are
# checked): the values of password, sasl_password, access_token and
# pickle_key in the .ini files, and the access tokens the bot stored in
# its state files (*.db, table accounts).
_work_secrets() {
	find "$WORK" -name '*.ini' -type f -print0 2>/dev/null |
		xargs -0 -r sed -n -E 's/^[[:space:]]*(password|sasl_password|access_token|pickle_key)[[:space:]]*=[[:space:]]*(.*[^[:space:]])[[:space:]]*$/\2/p' 2>/dev/null
	find "$WORK" -name '*.db' -type f -print0 2>/dev/null |
		xargs -0 -r /usr/bin/python3 -c '
import sqlite3, sys
for p in sys.argv[1:]:
    try:
        db = sqlite3.connect("file:%s?mode=ro" % p, uri=True, timeout=1)
        for (t,) in db.execute("SELECT access_token FROM accounts"):
            print(t)
    except Exception:
        pass' 2>/dev/null
	return 0
}

# check_secrets: 0 when no secret (see above) is in any *.log under $WORK
# or in a sanitizer report; names the file and line otherwise (never the
# secret itself).
check_secrets() {
	local v bad=0 all=("${_SECRETS[@]:-}") f
	while IFS= read -r v; do [ ${#v} -ge 4 ] && all+=("$v"); done < <(_work_secrets | sort -u | awk "length >= 6")
	v=${FAQBOT_PICKLE_KEY:-}; [ ${#v} -ge 4 ] && all+=("$v")
	for v in "${all[@]}"; do
		[ -n "$v" ] || continue
		while IFS= read -r -d '' f; do
			if grep -qF -- "$v" "$f"; then
				log "FAIL: a secret (${#v} bytes) is written in $f, line(s) $(grep -nF -- "$v" "$f" | cut -d: -f1 | head -5 | tr '\n' ' ')"
				bad=1
			fi
		done < <(find "$WORK" -type f \( -name '*.log' -o -path "$WORK/asan/*" \) -print0 2>/dev/null)
	done
	# For 96-secrets.sh, which greps every script's captured output
	# (build/logs/) once they have all run: test-only values, mode 0600.
	if [ -d "$ROOT/build" ]; then
		(umask 077; for v in "${all[@]}"; do [ -n "$v" ] && printf '%s\n' "$v"; done >>"$ROOT/build/test-secrets.txt") 2>/dev/null || true
	fi
	return $bad
}

# check_sanitizers: 0 when no sanitizer report was written; prints them.
check_sanitizers() {
	local f bad=0
	for f in "$WORK"/asan/*; do
		[ -s "$f" ] || continue
		log "FAIL: sanitizer report $(basename "$f"):"
		head -n 60 "$f" >&2
		bad=1
	done
	return $bad
}

on_exit() {
	local rc=$? p i alive
	for c in "${_CLEANUPS[@]:-}"; do [ -n "$c" ] && eval "$c" || true; done
	for p in "${_PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	# Up to 5 s for a clean exit: a sanitizer build runs its leak check
	# then, and a SIGKILL would lose the report.
	for ((i = 0; i < 50; i++)); do
		alive=0
		for p in "${_PIDS[@]:-}"; do [ -n "$p" ] && kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for p in "${_PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
	check_sanitizers || rc=1
	check_secrets || rc=1
	if [ $rc -eq 0 ] && [ -z "${KEEP_WORK:-}" ]; then rm -rf "$WORK"; else log "work dir kept: $WORK"; fi
	exit $rc
}
trap on_exit EXIT

track_pid() { _PIDS+=("$1"); }
at_exit() { _CLEANUPS+=("$1"); }

# need_debs PKG... : install the Debian packages that are not installed.
need_debs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || die "missing packages: sudo apt-get install ${missing[*]}"
	log "installing ${missing[*]}"
	local lock=/tmp/faqbot-apt.lock
	(
		flock 9
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >"$WORK/apt.log" 2>&1 ||
		{ apt-get update -q >>"$WORK/apt.log" 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$WORK/apt.log" 2>&1; }
	) 9>"$lock" || { cat "$WORK/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
}

# free_port: prints a TCP port nothing listens on.
free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_port PORT [SECONDS]: until something accepts on 127.0.0.1:PORT.
wait_port() {
	local port=$1 t=${2:-30} i
	for ((i = 0; i < t * 10; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.1
	done
	die "nothing listens on 127.0.0.1:$port after ${t}s"
}

# check NAME CONDITION-COMMAND...: counts and reports one assertion.
CHECKS_OK=0
check() {
	local name=$1; shift
	if "$@"; then CHECKS_OK=$((CHECKS_OK + 1)); log "ok   $name"; else die "$name"; fi
}
