#!/usr/bin/env bash
# Matrix, the basics (issue 4): on a real Synapse, real people (matrix-nio)
# ask the bot in a room (mentioned, addressed by name, command prefix, in a
# thread, with hostile HTML) and in a direct chat; every reply is an
# m.notice replying to the question, mentioning the asker, with a plain
# body and escaped HTML, sent exactly once; chatter, notices, edits, ignored
# users and questions not addressed to the bot get nothing; admin commands
# only for admins; invites only from allowed_inviters; after a restart only
# questions younger than max_answer_age are answered; a first start skips
# the backlog.  MATRIX_BOT=minibot runs the same
# against the nio anchor bot.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/matrix/synapse.sh"
source "$ROOT/tests/matrix/bot.sh"

synapse_start
matrix_users
BOT_MAX_AGE=3 BOT_INVITERS="@alice:localhost, @carol:localhost" bot_config "$SYN_URL" "admins = @alice:localhost
ignore = @mallory:localhost"
bot_start

as alice room lobby --invite "$BOT_ID" >/dev/null
as bob join lobby
as carol join lobby
as mallory join lobby
check "the bot joins a room it is invited to" as alice wait-join lobby "$BOT_ID"

as alice ask lobby mention --mention "$BOT_ID" --text "quand sera visible ma session validée hier sur Kairos ?"
check "room: answered when mentioned (m.mentions)" as alice expect lobby mention "$BOT_ID" --settle 0
as bob ask lobby named --prefix "faqbot: " --text "ma session a été validée le 20/11, elle sera dans Kairos quand ?"
check "room: answered when addressed by name" as bob expect lobby named "$BOT_ID" --settle 0
as carol ask lobby prefix --prefix "!faq " --text "que veut dire DIFF ?"
check "room: answered with the command prefix" as carol expect lobby prefix "$BOT_ID" --settle 0
as alice ask lobby thread --thread --count 2 --prefix "faqbot: " --text "c'est quoi le délai d'affichage ? ({i})"
check "thread: answers stay in the thread, reply to the question" as alice expect lobby thread "$BOT_ID" --settle 0
as bob ask lobby hostile --html --prefix "faqbot: " \
	--text '<script>alert(1)</script><img src=x onerror=alert(2)> quand sera visible ma session <b>validée</b> hier & "Kairos" ?'
check "hostile HTML from a user is escaped in formatted_body" as bob expect lobby hostile "$BOT_ID" --settle 0

as bob ask lobby chatter --text "salut à tous, on déjeune à midi ?"
as carol ask lobby chatter --text "quand sera visible ma session validée hier sur Kairos ?"
as alice ask lobby chatter --msgtype m.notice --prefix "faqbot: " --text "quand sera visible ma session ?"
as mallory ask lobby chatter --prefix "faqbot: " --text "quand sera visible ma session ?"
as alice edit lobby named
# The bot handles a room's events in order: once a later question is
# answered, an answer to the chatter would have come already.
as alice ask lobby sentinel1 --prefix "faqbot: " --text "que veut dire SAIS ?"
as alice expect lobby sentinel1 "$BOT_ID" --settle 0 >/dev/null
check "room: chatter, unaddressed questions, notices, ignored users get no answer" as alice expect-none lobby chatter "$BOT_ID" --wait 0.5
check "an edit of an answered question gets no second answer" as alice expect-none lobby named-edit "$BOT_ID" --wait 0

as alice ask lobby admin --prefix "!" --text "status"
check "admin command by an admin" as alice expect lobby admin "$BOT_ID" --settle 0 --body-has "en service"
as bob ask lobby notadmin --prefix "!" --text "status"
as alice ask lobby sentinel2 --prefix "faqbot: " --text "que veut dire DIFF ?"
as alice expect lobby sentinel2 "$BOT_ID" --settle 0 >/dev/null
check "admin command by others: ignored in a room" as bob expect-none lobby notadmin "$BOT_ID" --wait 0.5
as carol room carol-dm --direct --invite "$BOT_ID" >/dev/null
as carol wait-join carol-dm "$BOT_ID"
as carol ask carol-dm notadmin --prefix "!" --text "reload"
check "... refused in a direct chat" as carol expect carol-dm notadmin "$BOT_ID" --settle 0 --body-has "réservée aux administrateurs"
as bob room bobroom --invite "$BOT_ID" >/dev/null
check "an invite from a user not in allowed_inviters is not accepted" as bob not-joined bobroom "$BOT_ID" --wait 2

as alice room dm --direct --invite "$BOT_ID" >/dev/null
check "the bot joins a direct chat" as alice wait-join dm "$BOT_ID"
as alice ask dm direct --count 3 --text "bonjour, ma session validée il y a 3 jours n'est pas dans Aude, normal ? ({i})"
check "direct chat: every message answered, exactly once" as alice expect dm direct "$BOT_ID" --settle 2
check "all the room's questions answered exactly once" as alice expect lobby mention,named,prefix,thread,hostile,admin "$BOT_ID" --settle 0

# After a restart, questions older than max_answer_age (3 s here) are not
# answered; younger ones are.
bot_stop || true
as alice ask dm stale --text "question posée pendant l'arrêt, trop vieille"
sleep 3.5
as alice ask dm young --text "question posée pendant l'arrêt, récente"
bot_start
check "after a restart: a question younger than max_answer_age is answered" as alice expect dm young "$BOT_ID" --settle 0
check "... one older than max_answer_age is not" as alice expect-none dm stale "$BOT_ID" --wait 1

# A first start (no state file) skips the backlog.
bot_stop || true
rm -f "$WORK"/faqbot.db*
as alice ask dm backlog --count 2 --text "question d'avant le premier démarrage ({i})"
bot_start
sleep 1
as alice ask dm first --text "quand sera visible ma session validée hier ?"
check "first start: new questions answered" as alice expect dm first "$BOT_ID" --settle 0
check "first start: the backlog is skipped" as alice expect-none dm backlog "$BOT_ID" --wait 1

if [ "$MATRIX_BOT" = faqbot ]; then
	check "the bot exits cleanly on SIGTERM" bot_stop
	check "the log holds neither password nor access token" \
		bash -c "! grep -qF -e '$BOT_PW' $WORK/bot.*.log && ! grep -qE 'syt_[A-Za-z0-9_]{10,}' $WORK/bot.*.log"
fi
CHECKS_DONE=1
log "$CHECKS_OK checks passed"
