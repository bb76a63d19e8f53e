#!/usr/bin/env bash
# The systemd service: dist/faqbot.service.in passes `systemd-analyze
# verify` (its man pages found) and its `systemd-analyze security` exposure
# stays at most 2.0 (printed for the README).  Then `faqbot run` on ngircd
# with NOTIFY_SOCKET naming a unix datagram socket this test listens on
# (python3), WATCHDOG_USEC set, and JOURNAL_STREAM naming its stderr: it
# sends READY=1 with a STATUS=, a STATUS= naming the connected network,
# WATCHDOG=1 at half the watchdog period, RELOADING=1 with MONOTONIC_USEC
# then READY=1 on SIGHUP, STOPPING=1 on SIGTERM, and exits 0; its log lines
# carry journald priorities ("<6>...") and no timestamp of their own.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/irc/servers.sh"
need_debs systemd man-db ngircd python3

# ---- the unit ----
mkdir -p "$WORK/man/man1" "$WORK/man/man5"
cp "$ROOT/dist/faqbot.1" "$WORK/man/man1/"
cp "$ROOT/dist/faqbot.ini.5" "$WORK/man/man5/"
# ExecStart must name an executable: the checkout's ./faqbot.
sed -e "s|@BINDIR@|$ROOT|g" -e "s|@UNITDIR@|/usr/local/lib/systemd/system|g" \
	"$ROOT/dist/faqbot.service.in" >"$WORK/faqbot.service"
out=$(MANPATH=$WORK/man systemd-analyze verify "$WORK/faqbot.service" 2>&1) || true
check "systemd-analyze verify dist/faqbot.service: no complaint${out:+: $out}" test -z "$out"
systemd-analyze security --offline=yes "$WORK/faqbot.service" >"$WORK/security.txt" 2>&1 || true
exposure=$(sed -n 's/.*Overall exposure level for faqbot.service: \([0-9.]*\).*/\1/p' "$WORK/security.txt")
log "systemd-analyze security: overall exposure $exposure"
grep '✗' "$WORK/security.txt" | sed 's/  */ /g' >&2 || true
check "systemd-analyze security gives an exposure figure" test -n "$exposure"
check "the exposure is at most 2.0 (got $exposure)" \
	awk -v e="$exposure" 'BEGIN { exit !(e + 0 <= 2.0) }'
for k in "Type=notify" "ExecReload=/bin/kill -HUP \$MAINPID" "Restart=on-failure" \
	 "WatchdogSec=" "StateDirectory=faqbot" "ConfigurationDirectory=faqbot" \
	 "ProtectSystem=strict" "NoNewPrivileges=yes" "PrivateTmp=yes" \
	 "RestrictAddressFamilies=" "SystemCallFilter=@system-service" "User=faqbot"; do
	check "the unit sets $k" grep -qF "$k" "$WORK/faqbot.service"
done

# ---- the notifications, on a real IRC server ----
ngircd_start ng
cat >"$WORK/bot.ini" <<INI
[bot]
knowledge = $ROOT/knowledge
state = $WORK/faqbot.db
[irc.local]
server = 127.0.0.1
port = $ng_PORT
tls = no
nick = sdbot
channels = #sd
INI
chmod 600 "$WORK/bot.ini"
BOT_LOG=$WORK/bot.log
: >"$BOT_LOG"
FAQBOT=$FAQBOT WORK=$WORK $PY - <<'PYEOF' || { cat "$BOT_LOG" >&2; die "sd_notify messages"; }
import os, re, signal, socket, subprocess, sys, time
work, faqbot = os.environ["WORK"], os.environ["FAQBOT"]
path = work + "/notify.sock"
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
sock.settimeout(0.2)
logf = open(work + "/bot.log", "ab")
st = os.fstat(logf.fileno())
env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000",
           JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
bot = subprocess.Popen([faqbot, "run", "-c", work + "/bot.ini"], stdout=logf, stderr=logf, env=env)
msgs = []  # (monotonic time, {key: value})

def recv_until(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            data = sock.recv(4096).decode()
        except socket.timeout:
            if bot.poll() is not None and pred is not None:
                break
            continue
        kv = dict(l.split("=", 1) for l in data.split("\n") if "=" in l)
        msgs.append((time.monotonic(), kv))
        if pred and pred(kv):
            return kv
    if pred:
        sys.exit("FAIL %s: not received in %ss; got %r" % (what, timeout, [m[1] for m in msgs]))

def ok(s):
    print("ok   " + s, file=sys.stderr)

try:
    m = recv_until(lambda kv: kv.get("READY") == "1", 20, "READY=1")
    if "STATUS" not in m:
        sys.exit("FAIL READY=1 comes without STATUS=: %r" % m)
    ok("READY=1 with STATUS=%s" % m["STATUS"])
    m = recv_until(lambda kv: "irc.local" in kv.get("STATUS", "") and "connected 1/1" in kv["STATUS"],
                   20, "STATUS= naming the connected network")
    ok("STATUS=%s" % m["STATUS"])
    t0 = time.monotonic()
    recv_until(None, 2.6, "")
    wd = [t for t, kv in msgs if kv.get("WATCHDOG") == "1" and t >= t0]
    if len(wd) < 4:
        sys.exit("FAIL WATCHDOG=1 sent %d times in 2.6 s with WATCHDOG_USEC=1000000 (want >= 4)" % len(wd))
    ok("WATCHDOG=1 sent %d times in 2.6 s" % len(wd))
    before = int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6)
    bot.send_signal(signal.SIGHUP)
    m = recv_until(lambda kv: kv.get("RELOADING") == "1", 10, "RELOADING=1 after SIGHUP")
    after = int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6)
    us = int(m.get("MONOTONIC_USEC", "-1"))
    if not before <= us <= after:
        sys.exit("FAIL MONOTONIC_USEC=%s is not the time of the reload (%d..%d)" % (m.get("MONOTONIC_USEC"), before, after))
    ok("RELOADING=1 with MONOTONIC_USEC=%d" % us)
    recv_until(lambda kv: kv.get("READY") == "1", 10, "READY=1 after the reload")
    ok("READY=1 after the reload")
    bot.send_signal(signal.SIGTERM)
    recv_until(lambda kv: kv.get("STOPPING") == "1", 10, "STOPPING=1 after SIGTERM")
    ok("STOPPING=1")
    rc = bot.wait(10)
    if rc != 0:
        sys.exit("FAIL exit status %d after SIGTERM" % rc)
    ok("exit 0")
finally:
    if bot.poll() is None:
        bot.kill()
logf.close()
lines = open(work + "/bot.log", encoding="utf-8", errors="replace").read().splitlines()
lines = [l for l in lines if l and not l.startswith("==")]  # sanitizer banners go elsewhere
bad = [l for l in lines if not re.match(r"<[3467]>", l) or re.match(r"<\d>\d{4}-\d\d-\d\dT", l)]
if not lines or bad:
    sys.exit("FAIL under journald every line is '<N>message', no timestamp: %r" % (bad[:5] or "no line"))
if not any(l.startswith("<6>faqbot starting") for l in lines):
    sys.exit("FAIL no '<6>faqbot starting' line: %r" % lines[:5])
ok("%d log lines with journald priorities, no timestamp" % len(lines))
PYEOF
log "19-systemd: all checks passed (exposure $exposure)"
