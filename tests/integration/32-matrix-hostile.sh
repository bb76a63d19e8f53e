#!/usr/bin/env bash
# Matrix, a hostile homeserver (issue 4): /sync answers made huge (with and
# without Content-Length), malformed, garbage, deeply nested, HTML, of the
# wrong shape, with wrong types inside every event, or trickled byte by
# byte, through tests/matrix/hostile_proxy.py.  The bot must log, skip,
# not crash, and still answer every question once afterwards.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/matrix/synapse.sh"
source "$ROOT/tests/matrix/bot.sh"

synapse_start
matrix_users
PROXY_PORT=$(free_port)
PROXY=http://127.0.0.1:$PROXY_PORT
/usr/bin/python3 "$MATRIX_DIR/hostile_proxy.py" "$PROXY_PORT" "$SYN_URL" >"$WORK/proxy.log" 2>&1 &
track_pid $!
wait_port "$PROXY_PORT" 10
bot_config "$PROXY" "reconnect_max = 3"
bot_start "$PROXY"
as alice room dm --direct --invite "$BOT_ID" >/dev/null
as alice wait-join dm "$BOT_ID"
as alice ask dm before --text "quand sera visible ma session validée hier ?"
check "answers through the proxy" as alice expect dm before "$BOT_ID" --settle 0

KINDS=huge,huge_chunk,malformed,garbage,deep,html,toplevel,types,slow
curl -sf "$PROXY/_proxy/arm?plan=$KINDS" >/dev/null
as alice ask dm during --count 5 --text "que veut dire SAIS ? ({i})"
check "after every hostile /sync the questions are all answered once" \
	as alice expect dm during "$BOT_ID" --timeout 120 --settle 3
stats=$(curl -sf "$PROXY/_proxy/stats")
log "proxy: $stats"
check "every hostile kind was served" /usr/bin/python3 -c '
import json, sys; d = json.loads(sys.argv[1]); sys.exit(0 if not d["pending"] and len(d["served"]) == 9 else 1)' "$stats"
check "the bot did not crash" bot_alive
nwarn=$(grep -c 'WARN.*/sync' "$WORK"/bot.*.log || true)
check "the hostile responses were logged ($nwarn warnings about /sync)" test "$nwarn" -ge 8
rss=$(awk '/VmHWM/ { print $2 }' "/proc/$BOT_PID/status" 2>/dev/null || true)
log "bot peak RSS after the hostile bodies: $rss KiB"
check "a 256 MiB body was not buffered (peak RSS under 64 MiB)" test "${rss:-999999}" -lt 65536
CHECKS_DONE=1
log "$CHECKS_OK checks passed"
