# tests/matrix/synapse.sh - a real Synapse homeserver for the tests (source
# it after tests/lib.sh).  Synapse comes from Debian sid, installed once in
# a debootstrap chroot cached under $CACHE (bookworm has no homeserver).
# Each test gets its own data dir in $WORK, a free port and its own mount
# namespace (unshare -m): /proc and the data dir are mounted only there, so
# they vanish with the process and no run can leave mounts behind.
# Not here: the clients (client.py) and the bot's configuration.

SYN_ROOT=$CACHE/synapse-sid
SYN_LOCK=$CACHE/synapse-sid.lock
SYN_MARK=$SYN_ROOT/.faqbot-complete   # written last: a build without it is redone
SYN_TEMPLATE=$CACHE/synapse-template  # a data dir with the schema already created
SYN_DIR=                              # this test's data dir (host side)
SYN_PORT=
SYN_URL=
SYN_PID=
SYN_SECRET=
# rc_message for the next synapse_start: "PER_SECOND BURST" (high by default).
SYN_RC_MESSAGE=${SYN_RC_MESSAGE:-"10000 100000"}
MATRIX_DIR=$ROOT/tests/matrix

# Mount points left by older runs or by tools outside a namespace: unmount
# them deepest first so that an rm -rf of the chroot can never reach the host.
_syn_umount_leftovers() {
	local m
	awk -v r="$1" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

# synapse_build: the sid chroot with matrix-synapse, built once (cold: about
# a minute).  flock keeps two test runs from building it at the same time.
synapse_build() {
	need_debs debootstrap util-linux
	(
		flock 8
		[ -f "$SYN_MARK" ] && exit 0
		local t0=$SECONDS tmp=$SYN_ROOT.tmp
		log "building the Synapse chroot in $SYN_ROOT (once per machine)"
		_syn_umount_leftovers "$SYN_ROOT"; _syn_umount_leftovers "$tmp"
		rm -rf --one-file-system "$SYN_ROOT" "$tmp" "$SYN_TEMPLATE"
		debootstrap --variant=minbase sid "$tmp" >"$WORK/debootstrap.log" 2>&1 ||
			{ tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
		unshare -m --propagation private sh -c '
			mount -t proc proc "$1/proc" &&
			chroot "$1" apt-get -q -o Acquire::Check-Valid-Until=false update &&
			DEBIAN_FRONTEND=noninteractive chroot "$1" apt-get install -y -q \
				-o Acquire::Check-Valid-Until=false --no-install-recommends matrix-synapse &&
			chroot "$1" apt-get clean' sh "$tmp" >"$WORK/chroot-apt.log" 2>&1 ||
			{ tail -20 "$WORK/chroot-apt.log" >&2; exit 1; }
		mkdir -p "$tmp/srv/synapse"
		mv "$tmp" "$SYN_ROOT"
		touch "$SYN_MARK"
		log "Synapse chroot built in $((SECONDS - t0))s"
	) 8>"$SYN_LOCK" || die "building the Synapse chroot failed"
	[ -d "$SYN_TEMPLATE" ] || _syn_make_template
}

# The schema creation takes most of a first start; do it once and copy
# the resulting database into every test's data dir.
_syn_make_template() {
	(
		flock 8
		[ -f "$SYN_TEMPLATE/homeserver.db" ] && exit 0
		local t0=$SECONDS d=$WORK/synapse-template
		rm -rf "$d" "$SYN_TEMPLATE"; mkdir -p "$d"
		/usr/bin/python3 "$MATRIX_DIR/synconf.py" keys "$d"
		SYN_DIR=$d _syn_start_in "$d"
		synapse_stop
		rm -f "$d"/homeserver.yaml "$d"/*.log "$d"/*.pid
		mv "$d" "$SYN_TEMPLATE"
		log "Synapse template database made in $((SECONDS - t0))s"
	) 8>"$SYN_LOCK.template" || die "making the Synapse template failed"
}

# _syn_start_in DIR [PORT]: writes the config for DIR and starts Synapse on it.
_syn_start_in() {
	local d=$1
	SYN_PORT=${2:-$(free_port)}
	SYN_URL=http://127.0.0.1:$SYN_PORT
	SYN_SECRET=$(cat "$d/shared_secret")
	/usr/bin/python3 "$MATRIX_DIR/synconf.py" config "$d" "$SYN_PORT" $SYN_RC_MESSAGE
	: >"$d/stderr.log"
	# exec chain (no fork): the PID we get is Synapse's own python.
	unshare -m --propagation private sh -c '
		mount -t proc proc "$1/proc" && mount --bind "$2" "$1/srv/synapse" &&
		exec chroot "$1" /usr/bin/python3 -m synapse.app.homeserver \
			-c /srv/synapse/homeserver.yaml' sh "$SYN_ROOT" "$d" \
		>>"$d/stderr.log" 2>&1 &
	SYN_PID=$!
	track_pid "$SYN_PID"
	local i
	for ((i = 0; i < 600; i++)); do
		curl -sf -o /dev/null "$SYN_URL/_matrix/client/versions" && return 0
		kill -0 "$SYN_PID" 2>/dev/null || { tail -30 "$d/stderr.log" "$d/homeserver.log" >&2 2>/dev/null; die "Synapse exited at start"; }
		sleep 0.05
	done
	tail -30 "$d/homeserver.log" >&2 2>/dev/null
	synapse_stop
	die "Synapse does not answer on $SYN_URL after 30s"
}

# synapse_start: a fresh homeserver for this test (data in $WORK/synapse).
# Sets SYN_URL, SYN_PORT, SYN_PID, SYN_DIR.
synapse_start() {
	need_debs curl python3-matrix-nio python3-olm
	synapse_build
	local t0; t0=$(date +%s%N)
	SYN_DIR=$WORK/synapse
	if [ ! -d "$SYN_DIR" ]; then
		cp -a "$SYN_TEMPLATE" "$SYN_DIR"
	fi
	_syn_start_in "$SYN_DIR"
	log "Synapse up on $SYN_URL in $((($(date +%s%N) - t0) / 1000000)) ms (pid $SYN_PID)"
}

# synapse_stop: stops this test's Synapse (SIGTERM, then SIGKILL).
synapse_stop() {
	[ -n "$SYN_PID" ] || return 0
	kill "$SYN_PID" 2>/dev/null || true
	local i
	for ((i = 0; i < 100; i++)); do kill -0 "$SYN_PID" 2>/dev/null || break; sleep 0.05; done
	kill -9 "$SYN_PID" 2>/dev/null || true
	wait "$SYN_PID" 2>/dev/null || true
	SYN_PID=
}

# synapse_restart: same data and same port (the bot must find it again).
synapse_restart() {
	synapse_stop
	_syn_start_in "$SYN_DIR" "$SYN_PORT"
}

# synapse_register NAME PASSWORD [admin]: a user through the shared-secret
# admin API (what register_new_matrix_user does, without a chroot process).
synapse_register() {
	/usr/bin/python3 "$MATRIX_DIR/synconf.py" register "$SYN_URL" "$SYN_SECRET" "$@" ||
		die "registering $1 failed"
}
