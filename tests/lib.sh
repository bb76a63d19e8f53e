# tests/lib.sh - shared helpers for integration scripts (source it).
# Servers are started on 127.0.0.1, on ports chosen free, and stopped by PID
# in the EXIT trap.  A missing tool is installed with apt-get when running
# as root, and is otherwise a failure (never a skip).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FAQBOT=${FAQBOT:-$ROOT/faqbot}
SHARED=${SHARED:-$ROOT/../shared}
CACHE=${FAQBOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faqbot-tests}
mkdir -p "$CACHE"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/faqbot-test.XXXXXX")
_PIDS=()
_CLEANUPS=()

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

on_exit() {
	local rc=$?
	for c in "${_CLEANUPS[@]:-}"; do [ -n "$c" ] && eval "$c" || true; done
	for p in "${_PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	sleep 0.2
	for p in "${_PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
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
