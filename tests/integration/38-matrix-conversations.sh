#!/usr/bin/env bash
# 38-matrix-conversations: conversations on a real Synapse with real
# matrix-nio clients.  In a room (several members): a bare date just after
# the bot asked for it is answered unaddressed, and a follow-up is completed
# from its own asker's question only; in a thread opened on a question, the
# follow-ups continue that conversation and are answered in the thread
# (client.py checks the m.thread relation and the reply to each question);
# a reply to one of the bot's answers, unaddressed, continues the asker's
# conversation; in a direct chat, a three-turn dialogue.  The dates in the answers follow
# from today's date, so the checks look for what the follow-up assumed
# (« Pour RCO, avec une validation le ... »), which only a completed
# question can say.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/matrix/synapse.sh"
source "$ROOT/tests/matrix/bot.sh"

synapse_start
matrix_users
bot_config "$SYN_URL"
sed -i 's/^max_answer_age = .*/&\nconversation_timeout = 600/' "$BOT_CFG"
bot_start

as alice room lobby --invite "$BOT_ID" >/dev/null
as bob join lobby
as carol join lobby
check "the bot joins the room" as alice wait-join lobby "$BOT_ID"

# --- a room: alice's bare date, bob's follow-up without a question, alice's follow-up
as alice ask lobby a1 --prefix "faqbot: " --text "quand sera visible ma session dans kairos ?"
check "room: alice's question (the bot asks for the date)" as alice expect lobby a1 "$BOT_ID" --settle 0 --body-has "Donnez-moi la date de validation"
as alice ask lobby a2 --text "validée le 12 novembre"
check "room: alice's bare date is answered unaddressed, for Kairos" as alice expect lobby a2 "$BOT_ID" --settle 0 --body-has "12 novembre"
as alice expect lobby a2 "$BOT_ID" --settle 0 --body-has "Kairos" >/dev/null
as bob ask lobby b1 --text "validée hier"
as bob ask lobby b2 --prefix "faqbot: " --text "et sur RCO ?"
# (bob's "et sur RCO ?" stands alone: answered for RCO, without alice's date
# and without his own unaddressed "validée hier")
check "room: bob, who asked nothing, gets no completed answer" as bob expect lobby b2 "$BOT_ID" --settle 0 --body-lacks "avec une validation"
check "room: bob's bare date, with no ask pending, gets no answer" as bob expect-none lobby b1 "$BOT_ID" --wait 0
as alice ask lobby a3 --prefix "faqbot: " --text "et sur RCO ?"
check "room: alice's follow-up keeps her date (12 novembre)" as alice expect lobby a3 "$BOT_ID" --settle 0 --body-has "Pour RCO, avec une validation le "
as alice expect lobby a3 "$BOT_ID" --settle 0 --body-has "12 novembre" >/dev/null
as alice ask lobby a4 --text "et sur aude ?"
as alice ask lobby sentinel --prefix "faqbot: " --text "que veut dire SAIS ?"
as alice expect lobby sentinel "$BOT_ID" --settle 0 >/dev/null
check "room: an unaddressed follow-up gets no answer" as alice expect-none lobby a4 "$BOT_ID" --wait 0

# --- a thread opened on carol's question continues her conversation
as carol ask lobby c1 --prefix "faqbot: " --text "ma session validée hier, quand sera-t-elle dans Kairos ?"
check "thread: carol's question in the room" as carol expect lobby c1 "$BOT_ID" --settle 0
as carol ask lobby c2 --thread-of c1 --prefix "faqbot: " --text "et sur RCO ?"
check "thread: the follow-up is completed and answered in the thread" as carol expect lobby c2 "$BOT_ID" --settle 0 --body-has "Pour RCO, avec une validation le "
as carol ask lobby c3 --thread-of c1 --prefix "faqbot: " --text "et si elle avait été validée vendredi ?"
check "thread: a new date keeps the thread's platform (RCO)" as carol expect lobby c3 "$BOT_ID" --settle 0 --body-has "Pour RCO, avec une validation le vendredi"
as bob ask lobby bt --thread-of c1 --prefix "faqbot: " --text "et pour aude ?"
check "thread: another user in carol's thread inherits nothing" as bob expect lobby bt "$BOT_ID" --settle 0 --body-lacks "avec une validation"

# --- a reply to one of the bot's answers (no prefix, no mention) is
# addressed to it and continues the asker's conversation; a reply to a
# person's message is not addressed to the bot
as bob ask lobby r1 --prefix "faqbot: " --text "ma session a été validée le 2 novembre, quand sera-t-elle sur le site régional ?"
check "reply: bob's question" as bob expect lobby r1 "$BOT_ID" --settle 0 --body-has "2 novembre"
as bob ask lobby r2 --reply-answer r1 --text "et pour Kairos ?"
check "reply: a reply to the bot's answer is answered, completed from bob's question" as bob expect lobby r2 "$BOT_ID" --settle 0 --body-has "Pour Kairos, avec une validation le lundi 2 novembre"
as carol ask lobby r3 --reply-question r1 --text "et pour aude ?"
as carol ask lobby sentinel2 --prefix "faqbot: " --text "que veut dire SAIS ?"
as carol expect lobby sentinel2 "$BOT_ID" --settle 0 >/dev/null
check "reply: a reply to a person's message gets no answer" as carol expect-none lobby r3 "$BOT_ID" --wait 0

# --- a direct chat
as alice room dm --direct --invite "$BOT_ID" >/dev/null
check "the bot joins a direct chat" as alice wait-join dm "$BOT_ID"
as alice ask dm d1 --text "quand sera visible ma session ?"
check "direct chat: the question" as alice expect dm d1 "$BOT_ID" --settle 0 --body-has "Donnez-moi la date de validation"
as alice ask dm d2 --text "mardi"
check "direct chat: 'mardi' gives the date" as alice expect dm d2 "$BOT_ID" --settle 0 --body-has "Validée le mardi"
as alice ask dm d3 --text "et pour le site régional ?"
check "direct chat: 'et pour le site régional ?' keeps Tuesday" as alice expect dm d3 "$BOT_ID" --settle 0 --body-has "Pour le site régional, avec une validation le mardi"
check "every question answered exactly once" as alice expect lobby a1,a2,a3,sentinel,b2,r1,r2 "$BOT_ID" --settle 1

if [ "$MATRIX_BOT" = faqbot ]; then
	check "the bot exits cleanly on SIGTERM" bot_stop
fi
CHECKS_DONE=1
log "$CHECKS_OK checks passed"
