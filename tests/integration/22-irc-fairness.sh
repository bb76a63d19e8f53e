#!/usr/bin/env bash
# Fair output and !reload on InspIRCd 3 + Anope 2.0 (issue 10).  The bot
# runs with the DEFAULT throttle (burst 4, 1 line/s) and per-user limit, in
# InspIRCd's default connect class:
#  - mallory (a flood-exempt client) sends, in one write, six questions
#    whose answer is the 10-line stages, 150 CTCP PINGs and 150 !status;
#    alice then asks a question in private: her whole answer must come
#    within 5 s (the old single queue put it behind about 128 lines, two
#    minutes at 1 line/s), and the flooder gets at most 3 CTCP replies and
#    3 refusals;
#  - boss, logged in to services (SASL PLAIN), sends !reload in private:
#    answered, the bot goes on answering, and the sanitizer build reports
#    nothing (the reload freed the config the handler read: a
#    heap-use-after-free).
# The checks are in tests/irc/scenario.py (phase fairness).
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/irc/servers.sh"
need_debs inspircd anope openssl python3

inspircd_start in services
log "inspircd on $in_PORT (fast $in_FAST_PORT), anope linked"
$PY "$ROOT/tests/irc/ircclient.py" account 127.0.0.1 "$in_PORT" boss bosspass123 >/dev/null ||
	die "could not register the NickServ account boss"

cat >"$WORK/bot.ini" <<INI
[bot]
knowledge = $ROOT/knowledge
state = $WORK/faqbot.db
log_level = ${BOT_LOG_LEVEL:-info}

[irc.in]
server = 127.0.0.1
port = $in_PORT
tls = no
nick = faqbot
channels = #faq
admins = boss
INI
bot_start "$WORK/bot.ini"

export IRC_PORT=$in_PORT FAST_PORT=$in_FAST_PORT FAQBOT WORK BOT_NICK=faqbot
$PY "$ROOT/tests/irc/scenario.py" fairness || {
	tail -n 30 "$BOT_LOG" | sed 's/^/bot | /' >&2
	die "fairness / !reload checks"
}
check "the bot is still running" kill -0 "$BOT_PID"
kill "$BOT_PID"
set +e; wait "$BOT_PID"; rc=$?; set -e
check "SIGTERM: exit status 0 (got $rc)" [ "$rc" = 0 ]
if grep -nE 'AddressSanitizer|runtime error' "$BOT_LOG"; then die "sanitizer report in the bot log"; fi
log "22-irc-fairness: all checks passed"
