#!/usr/bin/env bash
# Secrets and files (issue 6): a bot holding an IRC SASL password, a
# channel key (issue 10), a Matrix password, an access token and a pickle
# key runs at log level debug
# against a real ngircd and a homeserver address where nothing answers;
# none of the secrets may appear in its output, in `check -c`, in an error
# message, or in the captured output of any earlier integration script
# (build/logs/, fed by lib.sh's secret registry build/test-secrets.txt).
# Also: the state database is created mode 0600 even under umask 000, a
# wider existing mode is tightened, and a config holding a secret that
# others can read gets a warning at start-up.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/irc/servers.sh"
need_debs ngircd python3 sqlite3
[ -x "$FAQBOT" ] || die "$FAQBOT is not built"

IRC_PW=irc-sasl-Zq8vK2$$
MX_PW=matrix-pw-Hn4tR7$$
MX_TOKEN=syt_ZmFxYm90_secrettoken$$_0xAbCd
PICKLE=pickle-key-Wm3xP9$$
CHAN_KEY=chankey-Rt5yU1$$
secret "$IRC_PW" "$MX_PW" "$MX_TOKEN" "$PICKLE" "$CHAN_KEY"

ngircd_start ng
DEAD=$(free_port) # nothing listens: every Matrix request fails and is logged
write_cfg() { # FILE STATE
	cat >"$1" <<INI
[bot]
knowledge = $ROOT/knowledge
state = $2
log_level = debug

[irc.local]
server = 127.0.0.1
port = $ng_PORT
tls = no
allow_plaintext_password = yes
nick = faqbot
channels = #faq, #secret $CHAN_KEY
sasl_mechanism = PLAIN
sasl_username = faqbot
sasl_password = $IRC_PW

[matrix.pw]
homeserver = http://127.0.0.1:$DEAD
user = @faqbot:localhost
password = $MX_PW
allow_plaintext_password = yes
e2ee = yes
pickle_key = $PICKLE
reconnect_max = 1

[matrix.token]
homeserver = http://127.0.0.1:$DEAD
user = @faqbot2:localhost
access_token = $MX_TOKEN
allow_plaintext_password = yes
reconnect_max = 1
INI
}

# ---- the state file: 0600 whatever the umask --------------------------
write_cfg "$WORK/bot.ini" "$WORK/state/faqbot.db"
mkdir -p "$WORK/state"
chmod 600 "$WORK/bot.ini"
(umask 000; "$FAQBOT" run -c "$WORK/bot.ini" >"$WORK/run1.log" 2>&1) &
BOT=$!
track_pid $BOT
for ((i = 0; i < 100; i++)); do [ -s "$WORK/state/faqbot.db" ] && break; sleep 0.1; done
check "the state database exists" [ -s "$WORK/state/faqbot.db" ]
sleep 3 # logins fail and are retried, IRC registers (SASL is not offered)
check "the bot is running" kill -0 $BOT
kill $BOT; wait $BOT || true
check "state database mode 0600 under umask 000 (got $(stat -c %a "$WORK/state/faqbot.db"))" \
	[ "$(stat -c %a "$WORK/state/faqbot.db")" = 600 ]
for f in "$WORK"/state/faqbot.db-*; do
	[ -e "$f" ] || continue
	check "$(basename "$f") not readable by others" [ $(( 0$(stat -c %a "$f") & 077 )) = 0 ]
done
check "the IRC side ran at debug level" grep -q 'PRIVMSG\|JOIN\|<<' "$WORK/run1.log"
check "the keyed channel's JOIN is logged, its key redacted" grep -q '>> JOIN #secret <redacted>' "$WORK/run1.log"
check "the Matrix side failed and said so" grep -qi "matrix\|127.0.0.1:$DEAD" "$WORK/run1.log"

# A state file made wider by hand is tightened at the next start.
chmod 644 "$WORK/state/faqbot.db"
"$FAQBOT" run -c "$WORK/bot.ini" >"$WORK/run2.log" 2>&1 &
BOT=$!
track_pid $BOT
sleep 2
kill $BOT; wait $BOT || true
check "a 0644 state file is set back to 0600" [ "$(stat -c %a "$WORK/state/faqbot.db")" = 600 ]

# ---- a config others can read: a warning, and still no secret ------------
chmod 644 "$WORK/bot.ini"
rc=0; "$FAQBOT" check -c "$WORK/bot.ini" >"$WORK/check.log" 2>&1 || rc=$?
check "check -c with a world-readable config: warns" grep -qiE 'readable|permission|chmod' "$WORK/check.log"
"$FAQBOT" run -c "$WORK/bot.ini" >"$WORK/run3.log" 2>&1 &
BOT=$!
track_pid $BOT
sleep 1
kill $BOT; wait $BOT || true
check "run with a world-readable config: warns at start-up" grep -qiE 'readable|permission|chmod' "$WORK/run3.log"
chmod 600 "$WORK/bot.ini"

# ---- error paths: a refused config never quotes the secret ---------------
# A wrong value next to the secrets, then secrets that are themselves
# refused (too long, a password on a plain-TCP link without the opt-in).
sed "s/^tls = no/tls = maybe/" "$WORK/bot.ini" >"$WORK/broken1.ini"
LONG_PW=$IRC_PW$(head -c 6000 /dev/zero | tr '\0' x)
sed "s/^sasl_password = .*/sasl_password = $LONG_PW/" "$WORK/bot.ini" >"$WORK/broken2.ini"
grep -v '^allow_plaintext_password' "$WORK/bot.ini" >"$WORK/broken3.ini"
chmod 600 "$WORK"/broken*.ini
for b in broken1 broken2 broken3; do
	rc=0; "$FAQBOT" check -c "$WORK/$b.ini" >"$WORK/$b.log" 2>&1 || rc=$?
	check "$b: refused with file:line" [ $rc = 1 ]
	check "$b: the message names the file" grep -q "$b.ini:[0-9]" "$WORK/$b.log"
done

# ---- these logs, then every earlier script's captured output -------------
check "no secret in this script's logs" check_secrets
reg=$ROOT/build/test-secrets.txt
if [ -f "$reg" ]; then
	check "the secret registry is not readable by others" [ $(( 0$(stat -c %a "$reg") & 077 )) = 0 ]
	n=0
	while IFS= read -r v; do
		[ ${#v} -ge 6 ] || continue
		n=$((n + 1))
		for f in "$ROOT"/build/logs/integration_*.log; do
			[ -f "$f" ] || continue
			if grep -qF -- "$v" "$f"; then
				die "a secret (${#v} bytes) of a test run is in $f, line(s) $(grep -nF -- "$v" "$f" | cut -d: -f1 | head -5 | tr '\n' ' ')"
			fi
		done
	done < <(sort -u "$reg")
	log "build/logs/: $n secrets of earlier runs checked"
fi
log "$CHECKS_OK checks passed"
