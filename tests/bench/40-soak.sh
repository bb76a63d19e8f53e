#!/usr/bin/env bash
# Soak (issue 6, "Bounded under load"): one `./faqbot run` (the optimised
# build) on InspIRCd 3 and on Synapse at once, for SOAK_SECONDS (default
# 600; SOAK_SECONDS=60 for a quick run).  IRC: SOAK_IRC_CLIENTS (4) clients
# in #soak, each asking SOAK_IRC_RATE questions/s (2), alternately in the
# channel and in a private message (soak_irc.py).  Matrix: alice, bob and
# carol in a group room, alice and bob also in a direct chat with the bot,
# each asking SOAK_MX_RATE questions/s (1) (soak_matrix.py).  Questions
# from knowledge/examples/10-own.jsonl; each must get exactly one answer, the
# one `faqbot ask` gives (IRC: matched in order per client and stream;
# Matrix: by the event m.in_reply_to names).  The bot's VmRSS is sampled
# every 10 s.  Outgoing IRC throttle lifted (throttle_rate = 0) unless
# SOAK_THROTTLE=default (burst 4, 1 line/s: the IRC rate then drops to
# 0.05 questions/s per client); the per-user limit is lifted in both (the
# clients ask faster than a person may).  Exit 1 when an answer is lost,
# doubled or wrong, or the bot died; RSS growth after warm-up above 1 MiB
# is reported, and fails too with SOAK_RSS_FAIL=1.  Bounded: sending stops
# after SOAK_SECONDS, waiting for the last answers after SOAK_DRAIN (60) s.
source "$(dirname "$0")/../lib.sh"
FAQBOT=$ROOT/faqbot
source "$ROOT/tests/irc/servers.sh"
source "$ROOT/tests/matrix/synapse.sh"
source "$ROOT/tests/matrix/bot.sh"
need_debs inspircd python3-aiohttp

SECS=${SOAK_SECONDS:-600}
DRAIN=${SOAK_DRAIN:-60}
NIRC=${SOAK_IRC_CLIENTS:-4}
THROTTLE=${SOAK_THROTTLE:-lifted}
case $THROTTLE in
lifted) IRC_RATE=${SOAK_IRC_RATE:-2}; TH="throttle_rate = 0
throttle_burst = 1000" ;;
default) IRC_RATE=${SOAK_IRC_RATE:-0.05}; TH="" ;;
*) die "SOAK_THROTTLE is lifted or default, not $THROTTLE" ;;
esac
MX_RATE=${SOAK_MX_RATE:-1}
# RSS after warm-up: at 60 s, or a third of a shorter run.
WARM=${SOAK_WARMUP:-$((SECS >= 180 ? 60 : (SECS / 30) * 10))}
[ "$WARM" -ge 10 ] || WARM=10
QFILE=$ROOT/knowledge/examples/10-own.jsonl
[ -x "$FAQBOT" ] || die "$FAQBOT is missing: make faqbot"

inspircd_start soak
SYN_LOG_LEVEL=WARNING synapse_start
matrix_users

# [bot] user_rate = 0: the per-user limit lifted (see above).
cat >"$BOT_CFG" <<INI
[bot]
knowledge = $ROOT/knowledge
state = $WORK/faqbot.db
log_level = warn
user_rate = 0

[irc.soak]
server = 127.0.0.1
port = $soak_FAST_PORT
tls = no
nick = faqbot
channels = #soak
$TH

[matrix.soak]
homeserver = $SYN_URL
user = $BOT_ID
password = $BOT_PW
allow_plaintext_password = yes
allowed_inviters = :localhost
INI
chmod 600 "$BOT_CFG"
BOT_LOG=$WORK/bot.1.log
"$FAQBOT" run -c "$BOT_CFG" >"$BOT_LOG" 2>&1 &
BOT_PID=$!
track_pid "$BOT_PID"
log "started $FAQBOT run (pid $BOT_PID)"

as alice room soak --invite "$BOT_ID" >/dev/null
as bob join soak
as carol join soak
as alice room dm-alice --direct --invite "$BOT_ID" >/dev/null
as bob room dm-bob --direct --invite "$BOT_ID" >/dev/null
for r in "alice soak" "alice dm-alice" "bob dm-bob"; do
	set -- $r
	as "$1" wait-join "$2" "$BOT_ID" --timeout 30 || die "the bot did not join $2"
done
kill -0 "$BOT_PID" 2>/dev/null || { cat "$BOT_LOG" >&2; die "the bot exited"; }

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$BOT_PID/status" 2>/dev/null || true; }
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$BOT_PID/status" 2>/dev/null || true; }
RSS0=$(rss)

log "soak: ${SECS}s, IRC $NIRC clients x $IRC_RATE q/s (throttle $THROTTLE), Matrix 3 users x $MX_RATE q/s"
/usr/bin/python3 "$ROOT/tests/bench/soak_irc.py" 127.0.0.1 "$soak_FAST_PORT" --faqbot "$FAQBOT" \
	--questions "$QFILE" --clients "$NIRC" --rate "$IRC_RATE" --seconds "$SECS" --drain "$DRAIN" \
	--log "$WORK/irc-clients.txt" >"$WORK/irc.json" 2>"$WORK/soak_irc.log" &
IRC_DRV=$!; track_pid $IRC_DRV
/usr/bin/python3 "$ROOT/tests/bench/soak_matrix.py" --state "$STATE" --hs "$SYN_URL" --bot "$BOT_ID" \
	--faqbot "$FAQBOT" --questions "$QFILE" --plan "alice=soak,dm-alice bob=dm-bob,soak carol=soak" \
	--direct dm-alice,dm-bob --rate "$MX_RATE" --seconds "$SECS" --drain "$DRAIN" \
	>"$WORK/mx.json" 2>"$WORK/soak_matrix.log" &
MX_DRV=$!; track_pid $MX_DRV

# Sample every 10 s while the drivers run; bounded by the run, the drain
# and two minutes of margin (set-up, the final settle).
T0=$SECONDS
SAMPLES=()
RSS_WARM=
DIED=0
LIMIT=$((SECS + DRAIN + 120))
next=0
while kill -0 $IRC_DRV 2>/dev/null || kill -0 $MX_DRV 2>/dev/null; do
	t=$((SECONDS - T0))
	if [ "$t" -ge "$next" ]; then
		r=$(rss)
		if [ -z "$r" ]; then DIED=1; log "FAIL: the bot died at ${t}s"; break; fi
		SAMPLES+=("$t:$r")
		[ -z "$RSS_WARM" ] && [ "$t" -ge "$WARM" ] && RSS_WARM=$r
		next=$((next + 10))
	fi
	[ "$t" -lt "$LIMIT" ] || { log "FAIL: the drivers still run after ${LIMIT}s"; break; }
	sleep 1
done
kill $IRC_DRV $MX_DRV 2>/dev/null || true
IRC_RC=0; wait $IRC_DRV 2>/dev/null || IRC_RC=$?
MX_RC=0; wait $MX_DRV 2>/dev/null || MX_RC=$?
RSS_END=$(rss)
HWM=$(hwm)
[ -n "$RSS_END" ] || DIED=1
SAMPLES+=("$((SECONDS - T0)):${RSS_END:-dead}")
: "${RSS_WARM:=${RSS_END:-0}}"

# A clean stop under load: SIGTERM, exit status 0.
STOP_RC=0
if [ $DIED = 0 ]; then
	kill "$BOT_PID"
	for ((i = 0; i < 100; i++)); do kill -0 "$BOT_PID" 2>/dev/null || break; sleep 0.1; done
	wait "$BOT_PID" || STOP_RC=$?
fi

[ -s "$WORK/irc.json" ] || { tail -20 "$WORK/soak_irc.log" >&2; IRC_RC=1; echo '{}' >"$WORK/irc.json"; }
[ -s "$WORK/mx.json" ] || { tail -20 "$WORK/soak_matrix.log" >&2; MX_RC=1; echo '{}' >"$WORK/mx.json"; }

RC=0
echo
echo "Soak: ${SECS}s of questions, one ./faqbot run on InspIRCd 3 (plain TCP, flood-exempt class," \
	"throttle $THROTTLE) and Synapse $(chroot "$SYN_ROOT" dpkg-query -W -f '${Version}' matrix-synapse) at once"
echo "  IRC: $NIRC clients x $IRC_RATE q/s, channel + private; Matrix: 3 users x $MX_RATE q/s, group room + 2 direct chats"
/usr/bin/python3 - "$WORK/irc.json" "$WORK/mx.json" "$RSS0" "$RSS_WARM" "$WARM" "${RSS_END:-0}" "${HWM:-0}" \
	"$DIED" "$STOP_RC" "${SOAK_RSS_FAIL:-0}" "${SAMPLES[*]}" <<'PY' || RC=$?
import json, sys
irc, mx = (json.load(open(p)) for p in sys.argv[1:3])
rss0, warm, wt, end, hwm, died, stop_rc, rss_fail = (int(x) for x in sys.argv[3:11])
samples = sys.argv[11]
keys = ("sent", "answered", "lost", "doubled", "errors", "cut")
print("%-8s %8s %9s %6s %8s %7s %5s" % (("network",) + keys))
tot = dict.fromkeys(keys, 0)
for name, d in (("irc", irc), ("matrix", mx)):
    print("%-8s %8s %9s %6s %8s %7s %5s" % ((name,) + tuple(d.get(k, "?" if k != "cut" else 0) for k in keys)))
    for k in keys:
        tot[k] += d.get(k, 0) if isinstance(d.get(k), int) else 0
print("%-8s %8d %9d %6d %8d %7d %5d" % (("total",) + tuple(tot[k] for k in keys)))
if tot["cut"]:
    print("cut: answered, but the bot stopped after IRCNET_ANSWER_LINES (8) IRC lines, the rest of the answer unsent")
if mx.get("latency_ms"):
    l = mx["latency_ms"]
    print("matrix answer latency (server timestamps): p50 %s ms, p99 %s ms, max %s ms" % (l["p50"], l["p99"], l["max"]))
growth = end - warm if end else 0
if not end:
    print("bot VmRSS: %d KiB idle, %d KiB after warm-up (%d s); the bot is gone: no end figure" % (rss0, warm, wt))
else:
    print("bot VmRSS: %d KiB idle, %d KiB after warm-up (%d s), %d KiB at the end: growth %+d KiB (goal <= 1024): %s; peak VmHWM %d KiB"
          % (rss0, warm, wt, end, growth, "ok" if growth <= 1024 else "OVER", hwm))
print("VmRSS every 10 s (s:KiB): " + samples)
bad = []
for name, d in (("irc", irc), ("matrix", mx)):
    if not d or d.get("lost") or d.get("doubled") or d.get("errors") or d.get("sent", 0) != d.get("answered", -1):
        bad.append(name)
        for p in d.get("problems", [])[:10]:
            print("  %s: %s" % (name, p))
if died:
    bad.append("the bot died")
if stop_rc:
    bad.append("the bot exited %d on SIGTERM" % stop_rc)
if rss_fail and growth > 1024:
    bad.append("RSS grew %d KiB" % growth)
print("soak: " + ("FAIL (%s)" % ", ".join(bad) if bad else "ok: nothing lost, nothing doubled, no error"))
sys.exit(1 if bad else 0)
PY
[ $IRC_RC = 0 ] && [ $MX_RC = 0 ] || { log "a driver failed (irc $IRC_RC, matrix $MX_RC): logs in $WORK"; RC=1; }
[ $RC = 0 ] && CHECKS_DONE=1
exit $RC
