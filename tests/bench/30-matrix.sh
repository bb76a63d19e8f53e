#!/usr/bin/env bash
# Matrix benchmark (issue 4): faqbot against the minimal matrix-nio bot
# (tests/matrix/minibot.py, answering with `faqbot ask`: the same job)
# through the same Synapse in the same run.  Figures: question-to-answer
# latency p50/p95/p99 one question at a time (as the asker sees it: send to
# reply in /sync), answers/s and latency for a burst of questions sent at
# once (server timestamps), and peak RSS (VmHWM) of both bots.  Bounded:
# every wait has a timeout.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/matrix/synapse.sh"
MATRIX_FAQBOT=$FAQBOT
source "$ROOT/tests/matrix/bot.sh"
N_LAT=${N_LAT:-50}
N_BURST=${N_BURST:-100}

make -s -C "$ROOT" faqbot
SYN_LOG_LEVEL=WARNING synapse_start
matrix_users
synapse_register minibot pw-minibot >/dev/null
bot_config
sed -i 's/^log_level = debug/log_level = warn/' "$BOT_CFG"
bot_start
FAQ_PID=$BOT_PID
/usr/bin/python3 "$MATRIX_DIR/minibot.py" "$SYN_URL" minibot pw-minibot --ask "$FAQBOT" >"$WORK/minibot.log" 2>&1 &
MINI_PID=$!
track_pid $MINI_PID
as alice room dmf --direct --invite "$BOT_ID" >/dev/null
as alice room dmm --direct --invite @minibot:localhost >/dev/null
as alice wait-join dmf "$BOT_ID"
as alice wait-join dmm @minibot:localhost
Q="ma session a été validée le {i}/11, quand sera-t-elle visible dans Kairos ?"

hwm() { awk '/VmHWM/ { print $2 }' "/proc/$1/status"; }
IDLE_F=$(hwm "$FAQ_PID")
IDLE_M=$(hwm "$MINI_PID")

summary() { # NAME LATENCY-JSON BURST-JSON PID IDLE-PEAK-KIB
	/usr/bin/python3 - "$1" "$2" "$3" "$(hwm "$4")" "$5" <<-'PY'
	import json, sys
	name, lat, burst = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
	rss, idle = int(sys.argv[4]), int(sys.argv[5])
	def pct(v, p):
	    v = sorted(v)
	    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")
	for k, what in (("server", "server timestamps"), ("client", "as the asker sees it")):
	    v = lat[k]
	    print("%-8s one at a time, %s (n=%d): p50 %.1f ms  p95 %.1f ms  p99 %.1f ms" % (name, what, len(v), pct(v, 50), pct(v, 95), pct(v, 99)))
	b = burst["lat"]
	print("%-8s burst of %d: %d answered, %d doubled, %.1f answers/s, latency p50 %.0f ms p95 %.0f ms p99 %.0f ms" % (
	    name, burst["n"], burst["answered"], burst["doubled"], burst["answers_per_s"], pct(b, 50), pct(b, 95), pct(b, 99)))
	print("%-8s peak RSS %.1f MiB (%.1f MiB once joined, before any question)" % (name, rss / 1024, idle / 1024))
	PY
}

lf=$(as alice latency dmf "$BOT_ID" --count "$N_LAT" --text "$Q" --timeout 10)
lm=$(as alice latency dmm @minibot:localhost --count "$N_LAT" --text "$Q" --timeout 10)
bf=$(as alice burst dmf "$BOT_ID" --count "$N_BURST" --text "$Q" --timeout 30)
bm=$(as alice burst dmm @minibot:localhost --count "$N_BURST" --text "$Q" --timeout 30)
echo "Matrix, Synapse $(chroot "$SYN_ROOT" dpkg-query -W -f '${Version}' matrix-synapse) on 127.0.0.1; minibot = matrix-nio $(dpkg-query -W -f '${Version}' python3-matrix-nio) + faqbot ask"
summary faqbot "$lf" "$bf" "$FAQ_PID" "$IDLE_F"
summary minibot "$lm" "$bm" "$MINI_PID" "$IDLE_M"
echo "(minibot's RSS is its python process alone, without the faqbot ask it runs per question)"
# The floor: what any client built on Debian's libcurl costs before it does
# anything of its own.
cc -O2 -o "$WORK/curl_floor" "$ROOT/tests/bench/curl_floor.c" $(pkg-config --cflags --libs libcurl)
read -r f0 f1 < <("$WORK/curl_floor" "$SYN_URL/_matrix/client/versions")
awk -v v="$(pkg-config --modversion libcurl)" -v f0="$f0" -v f1="$f1" 'BEGIN {
	printf "libcurl floor: a C program doing one GET with libcurl %s: peak RSS %.1f MiB (%.1f MiB once its libraries are loaded, before curl_global_init)\n", v, f1 / 1024, f0 / 1024 }'
