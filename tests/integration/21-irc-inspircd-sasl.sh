#!/usr/bin/env bash
# IRC on InspIRCd 3 + Anope 2.0 services, over TLS with a test CA:
#  - bot A: TLS verified with tls_ca_file, SASL PLAIN: answers; !status
#    works for the admin account and is refused to the same nick without
#    the account; a flood of 200 questions from a flood-exempt client (the
#    bot in the default class, which disconnects a flooding client): not
#    disconnected, per-user limit holds; SIGHUP reload (a broken knowledge
#    directory refused, old knowledge keeps serving); SIGTERM: QUIT seen,
#    exit 0.
#  - bot B: a server certificate the CA did not sign: clear log line, no
#    connection.
#  - bot C: SASL PLAIN with a wrong password: logged clearly, no crash.
#  - bot D: SASL EXTERNAL with a client certificate: logged in.
#  - bot E: SASL EXTERNAL with a certificate no account knows: a log line
#    saying so (with the NickServ hint), connected without an account.
# The checks are in tests/irc/scenario.py (phase sasl).
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/irc/servers.sh"
need_debs inspircd anope openssl python3

irc_certs "$WORK/certs"
inspircd_start in services
log "inspircd on $in_PORT (tls $in_TLS_PORT, untrusted $in_BAD_TLS_PORT, fast $in_FAST_PORT), anope linked"
C=$WORK/certs
ACC=$ROOT/tests/irc/ircclient.py
# Accounts: the bot's (PLAIN), the admin's, and one for EXTERNAL whose
# certificate is the bot's client certificate.
$PY "$ACC" account 127.0.0.1 "$in_PORT" botacct botpass123 >/dev/null &
a1=$!
$PY "$ACC" account 127.0.0.1 "$in_PORT" boss bosspass123 >/dev/null &
a2=$!
$PY "$ACC" account 127.0.0.1 "$in_TLS_PORT" extacct extpass123 "$C/ca.pem" "$C/client.pem" "$C/client.key" >/dev/null &
a3=$!
wait $a1 && wait $a2 && wait $a3 || die "could not register the NickServ accounts"
log "accounts registered"

cp -r "$ROOT/knowledge" "$WORK/knowledge"

# common NICK SASL-LINES...: an [irc.in] section on the TLS port.
bot_conf() {
	local file=$1 nick=$2 port=$3; shift 3
	{
		printf '[bot]\nknowledge = %s/knowledge\nstate = %s/%s.db\n\n' "$WORK" "$WORK" "$nick"
		printf '[irc.in]\nserver = 127.0.0.1\nport = %s\ntls = yes\ntls_ca_file = %s/ca.pem\n' "$port" "$C"
		printf 'nick = %s\nchannels = #faq, #flood\nadmins = boss\nuser_rate = 6\nuser_burst = 3\n' "$nick"
		printf 'reconnect_max = 30\nquit_message = au revoir de %s\n' "$nick"
		printf '%s\n' "$@"
	} >"$file"
}
bot_conf "$WORK/a.ini" faqbot "$in_TLS_PORT" "sasl_mechanism = PLAIN" "sasl_username = botacct" "sasl_password = botpass123"
bot_conf "$WORK/b.ini" badtls "$in_BAD_TLS_PORT"
bot_conf "$WORK/c.ini" badpass "$in_TLS_PORT" "sasl_mechanism = PLAIN" "sasl_username = botacct" "sasl_password = wrong-password"
bot_conf "$WORK/d.ini" extbot "$in_TLS_PORT" "sasl_mechanism = EXTERNAL" "client_cert = $C/client.pem" "client_key = $C/client.key"
bot_conf "$WORK/e.ini" extnobody "$in_TLS_PORT" "sasl_mechanism = EXTERNAL" "client_cert = $C/stranger.pem" "client_key = $C/stranger.key"

bot_start "$WORK/b.ini" "$WORK/bot-b.log"; export BADTLS_PID=$BOT_PID BADTLS_LOG=$BOT_LOG
bot_start "$WORK/c.ini" "$WORK/bot-c.log"; export BADPASS_PID=$BOT_PID BADPASS_LOG=$BOT_LOG
bot_start "$WORK/d.ini" "$WORK/bot-d.log"; export EXT_PID=$BOT_PID EXT_LOG=$BOT_LOG
bot_start "$WORK/e.ini" "$WORK/bot-e.log"; export EXTBAD_PID=$BOT_PID EXTBAD_LOG=$BOT_LOG
bot_start "$WORK/a.ini" "$WORK/bot-a.log"

export IRC_PORT=$in_TLS_PORT FAST_PORT=$in_FAST_PORT PLAIN_PORT=$in_PORT CA=$C/ca.pem FAQBOT WORK
export BOT_NICK=faqbot USER_RATE=6 USER_BURST=3 KNOWLEDGE=$WORK/knowledge
$PY "$ROOT/tests/irc/scenario.py" sasl || {
	for f in "$WORK"/bot-*.log; do tail -n 15 "$f" | sed "s#^#$(basename "$f") | #" >&2; done
	die "TLS / SASL / signals checks"
}
set +e; wait "$BOT_PID"; rc=$?; set -e
check "SIGTERM: bot A exited with status 0 (got $rc)" [ "$rc" = 0 ]
if grep -nE 'AddressSanitizer|runtime error|Segmentation' "$WORK"/bot-*.log; then die "sanitizer or crash report in a bot log"; fi
log "21-irc-inspircd-sasl: all checks passed"
