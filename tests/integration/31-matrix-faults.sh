#!/usr/bin/env bash
# Matrix faults (issue 4): every question answered exactly once when 100
# arrive at once, when 50 arrive while the bot is down, when the bot is
# SIGKILLed at random points while 100 arrive, across a Synapse restart,
# and with Synapse's rc_message set low (429 + retry_after_ms).  Also: a
# restart reuses the stored device.  Real Synapse, real nio clients.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/matrix/synapse.sh"
source "$ROOT/tests/matrix/bot.sh"

synapse_start
matrix_users
synapse_register root pw-root admin >/dev/null
# Registration makes a device too: count from here.
dev0=$(as root devices "$BOT_ID")
bot_config "$SYN_URL" "reconnect_max = 4"
bot_start
as alice room dm --direct --invite "$BOT_ID" >/dev/null
as alice wait-join dm "$BOT_ID"

as alice ask dm burst --count 100 --text "quand sera visible ma session validée le {i}/11 sur Kairos ?"
check "100 questions at once: all answered, once each" as alice expect dm burst "$BOT_ID" --timeout 60 --settle 2

bot_stop || true
as alice ask dm down --count 50 --text "ma session validée il y a {i} jours est-elle visible ?"
bot_start
check "50 questions while the bot was down: all answered once after it starts" \
	as alice expect dm down "$BOT_ID" --timeout 60 --settle 2
ndev=$(($(as root devices "$BOT_ID") - dev0))
log "bot devices made by its logins, after one restart: $ndev"
check "a restart reuses the stored device" test "$ndev" = 1

# Questions leave every 60 ms for 6 s; the bot is SIGKILLed at random
# points meanwhile and restarted at once.
as alice ask dm kill --count 100 --interval 0.06 --text "c'est quoi le délai d'affichage ? ({i})" &
asker=$!
kills=0
for i in 1 2 3 4 5 6; do
	sleep "0.$((RANDOM % 9 + 1))"
	bot_kill; kills=$((kills + 1))
	bot_start
done
wait "$asker" || die "asking the kill batch failed"
check "SIGKILL x$kills while 100 questions arrive: each answered exactly once" \
	as alice expect dm kill "$BOT_ID" --timeout 90 --settle 3
log "bot devices made by its logins, after $kills SIGKILLs: $(($(as root devices "$BOT_ID") - dev0))"

synapse_stop
sleep 2
check "the bot survives Synapse going away" bot_alive
synapse_restart
as alice ask dm synrestart --count 5 --text "que veut dire ARCH ? ({i})"
check "after a Synapse restart the bot recovers by itself" \
	as alice expect dm synrestart "$BOT_ID" --timeout 60 --settle 2

# rc_message holds the bot to 2 messages/s after a burst of 3; the asker
# alone is exempt, so that questions come faster than answers may leave.
SYN_RC_MESSAGE="2 3" synapse_restart
as root ratelimit @alice:localhost 0 0
as alice ask dm ratelimited --count 15 --text "où trouver le numéro de session ? ({i})"
check "rc_message low: every answer arrives, none doubled" \
	as alice expect dm ratelimited "$BOT_ID" --timeout 90 --settle 2
check "Synapse did refuse some of the bot's sends with 429" \
	grep -q '{@faqbot:localhost} Processed request.* 429 "PUT' "$SYN_DIR/homeserver.log"
check "the bot is still running" bot_alive
CHECKS_DONE=1
log "$CHECKS_OK checks passed"
