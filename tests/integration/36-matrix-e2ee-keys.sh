#!/usr/bin/env bash
# Matrix end-to-end encryption (issue 5), the key management 35 leaves out,
# against real nio clients on the real Synapse:
# - Megolm rotation: a room whose m.room.encryption asks for a new session
#   every 2 messages, another every 3 s; the asker decrypts every answer and
#   reads the session id of each (client side, e2ee_peer.py sessions);
# - device lists caught up after a run with e2ee off: a device alice added
#   meanwhile is only known through /keys/changes, and must read the next
#   answer: the plain sync no longer reports her, the bot synced past it
#   (and bob asks: Synapse lists the senders of a batch's messages as
#   changed device lists, their lazy-loaded members counting as joins);
# - cross-signing again after the keys were lost: Synapse wants interactive
#   auth to replace a master key (401), the bot retries with its password,
#   and the new master key signs the device.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/matrix/synapse.sh"
source "$ROOT/tests/matrix/bot.sh"
BOT_E2EE=1
KEY=$(head -c 24 /dev/urandom | base64)
[ "$MATRIX_BOT" = faqbot ] || die "36-matrix-e2ee-keys.sh edits faqbot's state file: MATRIX_BOT=faqbot only"
# enc_log ROOM_ID ERE: the bot logged ROOM_ID as encrypted, with ERE in the
# line (the rotation periods it read from m.room.encryption).
enc_log() {
	wait_log "$1 is encrypted" && grep -F -- "$1 is encrypted" "$WORK/bot.$BOT_N.log" | grep -qE -- "$2"
}
# db SQL: runs SQL on the bot's state file (the bot stopped), prints rows.
db() {
	/usr/bin/python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for r in c.execute(sys.argv[2]):
    print("|".join(map(str, r)))
c.commit()' "$WORK/faqbot.db" "$1"
}
# e2ee_config yes|no: the bot's config, e2ee on or off, same state file.
e2ee_config() {
	bot_config "$SYN_URL" "e2ee = $1
pickle_key = $KEY"
}
ask() {
	local u=$1 room=$2 tag=$3; shift 3
	as "$u" --e2ee ask "$room" "$tag" --prefix "faqbot: " "$@" >/dev/null
}

need_debs python3-signedjson
synapse_start
matrix_users
e2ee_config yes
bot_start
rmsg=$(as alice --e2ee room rmsg --rotation-msgs 2 --invite "$BOT_ID")
rtime=$(as alice --e2ee room rtime --rotation-ms 3000 --invite "$BOT_ID")
as alice --e2ee room sec --encrypted --invite "$BOT_ID" >/dev/null
as alice --e2ee room plain --invite "$BOT_ID" >/dev/null
as bob --e2ee join sec
for r in rmsg rtime sec plain; do
	check "the bot joins $r" as alice --e2ee wait-join "$r" "$BOT_ID"
done
check "the bot read rotation_period_msgs=2" enc_log "$rmsg" " 2 messages[ ,]"
check "the bot read rotation_period_ms=3000" enc_log "$rtime" " (3 s|3000 ms)[ ,)]"
check "the bot cross-signed its device" wait_log "cross-signed (master and self-signing keys uploaded)"
check "... and the signatures hold (signedjson)" peer alice xsign-check "$BOT_ID" --master-out "$WORK/master.1"

# 1. Rotation by count: 5 answers, a new session every 2 messages.
ask alice rmsg m --count 5 --text "que veut dire DIFF ? ({i})"
check "rotation_period_msgs=2: 5 questions, 5 encrypted answers" \
	as alice --e2ee expect rmsg m "$BOT_ID" --encrypted --timeout 30 --settle 1
check "... all decrypt; answers 1-2, 3-4 and 5 each under their own session" \
	peer alice sessions rmsg m "$BOT_ID" --pattern AABBC

# Rotation by time: two answers at once share a session; the next ones,
# asked once the 3 s have passed, are under a new one.
ask alice rtime t --count 2 --text "c'est quoi l'état ARCH ? ({i})"
check "rotation_period_ms=3000: two answers at once" \
	as alice --e2ee expect rtime t "$BOT_ID" --encrypted --timeout 30 --settle 0
sleep 3.2
ask alice rtime t --count 2 --text "où trouver le numéro de session ? ({i})"
check "... two more after the period" \
	as alice --e2ee expect rtime t "$BOT_ID" --encrypted --timeout 30 --settle 1
check "... all decrypt; the two after the period under a new session" \
	peer alice sessions rtime t "$BOT_ID" --pattern AABB

# 2. The bot knows alice's devices in sec (one), then runs with e2ee off
# while alice adds a tablet, and syncs past it (the plain answer proves it).
# Back with e2ee, bob asks: alice sends nothing the bot sees, so only
# /keys/changes tells it of her tablet.
ask alice sec k1 --text "quand sera visible ma session validée hier sur Kairos ?"
check "encrypted room: answered" as alice --e2ee expect sec k1 "$BOT_ID" --encrypted --timeout 30 --settle 0
bot_stop || true
e2ee_config no
bot_start
as alice --e2ee --device tablet wait-join sec "$BOT_ID"   # logs in, uploads its keys
ask alice plain p1 --text "que veut dire DIFF ?"
check "with e2ee off the bot answers in the clear room (it synced past the tablet)" \
	as alice --e2ee expect plain p1 "$BOT_ID" --timeout 30 --settle 0
bot_stop || true
since=$(db "SELECT next_batch FROM sync")
devl=$(db "SELECT value FROM kv WHERE key = 'devlists'")
check "the device-list token is behind the sync token" test -n "$devl" -a -n "$since" -a "$devl" != "$since"
e2ee_config yes
bot_start
check "back with e2ee: device lists caught up with /keys/changes" \
	wait_log "device lists caught up with /keys/changes"
check "... asked from the stored device-list token to the sync token" \
	wait_in "$SYN_DIR/homeserver.log" "/keys/changes?from=$devl&to=$since "
ask bob sec k2 --text "que veut dire DIFF ?"
check "the device added while e2ee was off reads the next answer" \
	as alice --e2ee --device tablet expect sec k2 "$BOT_ID" --encrypted --timeout 30 --settle 0
check "... decrypted: the French answer" peer alice --device tablet answer sec k2 "$BOT_ID" --contains "diffusé"
check "... and alice's first device too" as alice --e2ee expect sec k2 "$BOT_ID" --encrypted --timeout 10 --settle 0

# 3. The cross-signing keys are lost: new ones, and replacing the published
# master key needs interactive auth (Synapse: 401, then the password).
bot_stop || true
db "DELETE FROM e2ee_xsign" >/dev/null
db "DELETE FROM kv WHERE key = 'xsign'" >/dev/null
check "the cross-signing keys are gone from the state file" \
	test "$(db "SELECT count(*) FROM e2ee_xsign")" = 0
synlog=$SYN_DIR/homeserver.log
nlog0=$(wc -l <"$synlog")
bot_start
check "new cross-signing keys uploaded and the device cross-signed again" \
	wait_log "cross-signed (master and self-signing keys uploaded)"
check "... the NEW master key is published and signs the device" \
	peer alice xsign-check "$BOT_ID" --not-master "$WORK/master.1" --master-out "$WORK/master.2"
# Synapse's access log: the upload without auth is refused (401), the one
# with the password accepted (200), in that order.
upl=$(tail -n +"$((nlog0 + 1))" "$synlog" | grep -F '/keys/device_signing/upload' |
	sed -n -E 's/.*[0-9]B ([0-9]{3}) "POST .*/\1/p' | tr '\n' ' ')
check "Synapse answered the uploads 401 then 200 (got: $upl)" test "$upl" = "401 200 "
check "the password is in no log" bash -c "! grep -rqF -e '$BOT_PW' --include='*.log' '$WORK'"
ask alice sec k3 --text "c'est quoi l'état ARCH ?"
check "after the new cross-signing the bot still answers, encrypted" \
	as alice --e2ee expect sec k3 "$BOT_ID" --encrypted --timeout 30 --settle 0
CHECKS_DONE=1
log "$CHECKS_OK checks passed"
