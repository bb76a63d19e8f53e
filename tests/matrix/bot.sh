# tests/matrix/bot.sh - start, stop and kill the bot under test against the
# test's Synapse (source after synapse.sh).  MATRIX_BOT=faqbot (the default,
# what `make test` checks) or MATRIX_BOT=minibot (the nio anchor: the same
# scripts then show where a naive bot fails).  Also the client.py wrappers
# the tests use.  Not here: the checks themselves (client.py).

MATRIX_BOT=${MATRIX_BOT:-faqbot}
BOT_USER=faqbot
BOT_PW=pw-faqbot-$$
BOT_ID=@$BOT_USER:localhost
BOT_PID=
BOT_N=0
BOT_CFG=$WORK/faqbot.ini
# tests/lib.sh picks the binary: the ASan + UBSan build for integration
# scripts (reports under $WORK/asan fail the script), ./faqbot for benches.
MATRIX_FAQBOT=${MATRIX_FAQBOT:-$FAQBOT}
STATE=$WORK/client-state.json
PEOPLE=(alice bob carol mallory)

# matrix_users: registers the bot and the people who talk to it.
matrix_users() {
	synapse_register "$BOT_USER" "$BOT_PW" >/dev/null
	local u
	for u in "${PEOPLE[@]}"; do synapse_register "$u" "pw-$u" >/dev/null; done
}

# as USER CLIENT-ARGS...: runs client.py as that person.
as() {
	local u=$1; shift
	/usr/bin/python3 "$MATRIX_DIR/client.py" -s "$STATE" -H "$SYN_URL" -u "$u" -p "pw-$u" "$@"
}

# bot_config [HOMESERVER_URL] [EXTRA-INI-LINES]: the faqbot config file.
bot_config() {
	local hs=${1:-$SYN_URL}
	cat >"$BOT_CFG" <<-EOF
	[bot]
	knowledge = $ROOT/knowledge
	state = $WORK/faqbot.db
	log_level = debug
	user_rate = 100000
	user_burst = 100000
	max_answer_age = ${BOT_MAX_AGE:-600}

	[matrix.test]
	homeserver = $hs
	user = $BOT_ID
	password = $BOT_PW
	allow_plaintext_password = yes
	allowed_inviters = ${BOT_INVITERS:-:localhost}
	${2:-}
	EOF
	chmod 600 "$BOT_CFG"
}

# bot_start [HOMESERVER_URL]: starts the bot in the background (BOT_PID);
# its output goes to $WORK/bot.N.log.
bot_start() {
	local hs=${1:-$SYN_URL}
	BOT_N=$((BOT_N + 1))
	if [ "$MATRIX_BOT" = minibot ]; then
		/usr/bin/python3 "$MATRIX_DIR/minibot.py" "$hs" "$BOT_USER" "$BOT_PW" \
			${BOT_E2EE:+--e2ee "$WORK/minibot-store"} >"$WORK/bot.$BOT_N.log" 2>&1 &
	else
		[ -f "$BOT_CFG" ] || bot_config "$hs"
		"$MATRIX_FAQBOT" run -c "$BOT_CFG" >"$WORK/bot.$BOT_N.log" 2>&1 &
	fi
	BOT_PID=$!
	track_pid "$BOT_PID"
}

# bot_alive: 1 while the bot's process runs.
bot_alive() { [ -n "$BOT_PID" ] && kill -0 "$BOT_PID" 2>/dev/null; }

# bot_stop: SIGTERM; returns the bot's exit status.
bot_stop() {
	[ -n "$BOT_PID" ] || return 0
	kill "$BOT_PID" 2>/dev/null || true
	local rc=0
	wait "$BOT_PID" || rc=$?
	BOT_PID=
	return $rc
}

# bot_kill: SIGKILL, as a crash would.
bot_kill() {
	[ -n "$BOT_PID" ] || return 0
	kill -9 "$BOT_PID" 2>/dev/null || true
	wait "$BOT_PID" 2>/dev/null || true
	BOT_PID=
}

# bot_logs: every log of this test's bot runs, for a failure report.
bot_logs() { tail -n 30 "$WORK"/bot.*.log >&2 2>/dev/null || true; }
at_exit 'bot_logs_on_fail'
bot_logs_on_fail() { [ "${CHECKS_DONE:-0}" = 1 ] || bot_logs; }

# peer USER ARGS...: e2ee_peer.py as that person (same nio device as `as`).
peer() {
	local u=$1; shift
	/usr/bin/python3 "$MATRIX_DIR/e2ee_peer.py" -s "$STATE" -H "$SYN_URL" -u "$u" -p "pw-$u" "$@"
}

# wait_in FILE TEXT [SECONDS]: FILE shows TEXT within SECONDS (default 20).
wait_in() {
	local i
	for ((i = 0; i < ${3:-20} * 10; i++)); do
		grep -qF -- "$2" "$1" && return 0
		sleep 0.1
	done
	return 1
}

# wait_log TEXT [SECONDS]: the running bot's log shows TEXT in time.
wait_log() { wait_in "$WORK/bot.$BOT_N.log" "$1" "${2:-20}"; }
