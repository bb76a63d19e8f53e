#!/usr/bin/env bash
# Matrix end-to-end encryption (issue 5) against the crypto of current
# Element: @matrix-org/matrix-sdk-crypto-wasm (Rust matrix-sdk-crypto on
# vodozemac, from npm) driven by tests/matrix/wasm_peer.mjs, on the real
# Synapse.  In an encrypted room the peer makes, the bot's device is
# cross-signed as vodozemac sees it (so a client that shares keys only
# with devices signed by their owner, or decrypts only from them, still
# talks to the bot); a question gets a Megolm-encrypted answer, with its
# relation in the clear, that decrypts to the French answer; an encrypted
# direct chat works too; after a restart (SIGTERM, then SIGKILL) the bot
# still reads the peer's Megolm session and its answers still decrypt.
# Issue 10, Olm repair and room-key requests against the same crypto:
# - a room-key request for the bot's own Megolm session from the peer's
#   device, which received it, is answered with an m.forwarded_room_key
#   that vodozemac decrypts; the same request from a stranger's device
#   (mallory, no room shared) gets nothing;
# - the bot loses the peer's Megolm session (its row deleted while it is
#   stopped, as if the m.room_key never came): the next question under that
#   session is held, the bot asks the peer's device with m.room_key_request,
#   the peer (matrix-sdk-crypto's key forwarding on) forwards the key, and
#   the question is answered;
# - the bot loses its Olm sessions with the peer: the peer's next room key
#   does not decrypt, the bot makes a new Olm session and sends m.dummy over
#   it (vodozemac decrypts it), and the peer's next question is answered.
# The npm package is installed once, pinned, into $CACHE (outside the
# checkout); an install that fails is a failure.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/matrix/synapse.sh"
source "$ROOT/tests/matrix/bot.sh"
BOT_E2EE=1
KEY=$(head -c 24 /dev/urandom | base64)
WASM_VERSION=18.9.0
WASM_DIR=$CACHE/npm/matrix-sdk-crypto-wasm-$WASM_VERSION
WASM_MARK=$WASM_DIR/.faqbot-complete   # written last: a partial install is redone

# wasm_install: the pinned package under $WASM_DIR, once per machine;
# flock keeps two runs from installing at the same time.
wasm_install() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		need_debs nodejs npm
	fi
	mkdir -p "$CACHE/npm"
	(
		flock 7
		[ -f "$WASM_MARK" ] && [ -f "$WASM_DIR/node_modules/@matrix-org/matrix-sdk-crypto-wasm/package.json" ] && exit 0
		local tmp=$WASM_DIR.tmp t0=$SECONDS
		rm -rf "$tmp" "$WASM_DIR"
		mkdir -p "$tmp"
		log "installing @matrix-org/matrix-sdk-crypto-wasm@$WASM_VERSION into $WASM_DIR (once per machine)"
		npm install --prefix "$tmp" --no-audit --no-fund --ignore-scripts --no-package-lock \
			"@matrix-org/matrix-sdk-crypto-wasm@$WASM_VERSION" >"$WORK/npm.log" 2>&1 ||
			{ tail -20 "$WORK/npm.log" >&2; rm -rf "$tmp"; exit 1; }
		# It must load and run here (Node's WebAssembly, the .wasm present).
		WASM_CRYPTO_DIR=$tmp node -e '
			const m = require("module").createRequire(process.env.WASM_CRYPTO_DIR + "/noop.js")("@matrix-org/matrix-sdk-crypto-wasm");
			console.log("matrix-sdk-crypto " + m.getVersions().matrix_sdk_crypto + ", vodozemac " + m.getVersions().vodozemac);' \
			>>"$WORK/npm.log" 2>&1 || { tail -20 "$WORK/npm.log" >&2; rm -rf "$tmp"; exit 1; }
		mv "$tmp" "$WASM_DIR"
		touch "$WASM_MARK"
		log "installed in $((SECONDS - t0))s: $(tail -1 "$WORK/npm.log")"
	) 7>"$CACHE/npm/matrix-sdk-crypto-wasm.lock" ||
		die "npm install @matrix-org/matrix-sdk-crypto-wasm@$WASM_VERSION failed (is the npm registry reachable?)"
}

# wasm_peer_start USER: the peer process for USER (one device, kept in
# memory for the whole test), as coprocess WP; "ok DEVICE" once logged in.
wasm_peer_start() {
	local u=$1 line
	coproc WP { WASM_CRYPTO_DIR=$WASM_DIR WASM_PEER_PASSWORD=pw-$u exec node "$MATRIX_DIR/wasm_peer.mjs" \
		-H "$SYN_URL" -u "$u" 2>>"$WORK/wasm-peer.$u.log"; }
	track_pid "$WP_PID"
	read -r -t 60 line <&"${WP[0]}" || { tail -20 "$WORK/wasm-peer.$u.log" >&2; die "the wasm peer did not start"; }
	[[ $line == ok* ]] || { tail -20 "$WORK/wasm-peer.$u.log" >&2; die "the wasm peer: $line"; }
	log "wasm peer $u up, device ${line#ok }"
}

# wp CMD ARGS...: one command to the peer; 0 when it answers "ok".
wp() {
	local line IFS=$'\t'   # (coproc descriptors do not reach a subshell)
	if [ -z "${WP_PID:-}" ] || ! kill -0 "$WP_PID" 2>/dev/null; then
		log "the wasm peer is gone (see $WORK/wasm-peer.*.log)"
		return 1
	fi
	printf '%s\n' "$*" >&"${WP[1]}"
	read -r -t 90 line <&"${WP[0]}" || { log "the wasm peer gave no answer to $1"; return 1; }
	log "  peer: ${line:0:300}"
	WP_LAST=$line
	[[ $line == ok* ]]
}

wasm_install
synapse_start
matrix_users
bot_config "$SYN_URL" "e2ee = yes
pickle_key = $KEY"
bot_start
wasm_peer_start alice

wp room sec "$BOT_ID" >/dev/null || die "creating the encrypted room failed"
SEC_ROOM=${WP_LAST#ok }
check "the bot joins the encrypted room the Element crypto made" wp wait-join sec "$BOT_ID" 30
check "the bot's device is cross-signed by its owner, as vodozemac sees it" wp xsign "$BOT_ID"

# Keys shared only with devices their owner cross-signed (what Element
# does with "never send to unverified devices" / the identity-based
# strategy): the bot's device must still get the room key.
wp ask sec q1 identity "faqbot: quand sera visible ma session validée hier sur Kairos ?" ||
	die "sending the question failed"
check "the room key went to the bot's device under the identity-based strategy" wp key-sent sec "$BOT_ID"
check "encrypted room: the answer is Megolm, related to the question in the clear, and decrypts (cross-signed sender required) to the Kairos answer" \
	wp answer sec q1 "$BOT_ID" Kairos 30

# Restarts: the bot must keep its Olm/Megolm state (and our session's key)
# across a SIGTERM and a SIGKILL; the questions wait while it is down.
bot_stop || true
wp ask sec q2 all "faqbot: que veut dire DIFF ?" || die "sending the second question failed"
bot_start
check "after a restart (SIGTERM) the bot decrypts the question and its answer decrypts" \
	wp answer sec q2 "$BOT_ID" "diffusé" 30
sleep 1
bot_kill
# This one under a new Megolm session of the peer: its key reaches the bot
# over the Olm session the bot kept through the SIGKILL.
wp ask sec q3 all "faqbot: quand sera visible ma session validée hier sur Kairos ?" new-session ||
	die "sending the third question failed"
bot_start
check "after a SIGKILL too, with a new Megolm session of the peer" wp answer sec q3 "$BOT_ID" Kairos 30
check "the bot's device is the same one, still cross-signed" wp xsign "$BOT_ID"

wp room dm "$BOT_ID" direct >/dev/null || die "creating the direct chat failed"
check "the bot joins an encrypted direct chat" wp wait-join dm "$BOT_ID" 30
wp ask dm d1 identity "bonjour, ma session validée hier n'est pas visible sur Kairos" ||
	die "sending the direct question failed"
check "encrypted direct chat: the answer decrypts to the Kairos answer" \
	wp answer dm d1 "$BOT_ID" Kairos 30

# ---- issue 10: room-key requests and Olm repair ----
# db SQL: runs SQL on the bot's state file (the bot stopped), prints rows.
db() {
	/usr/bin/python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for r in c.execute(sys.argv[2]):
    print("|".join(map(str, r)))
c.commit()' "$WORK/faqbot.db" "$1"
}
# stranger_keyreq SESSION N: mallory (no room shared with the bot) asks the
# bot's devices N times for SESSION of room sec; prints what reached her
# from the bot within 5 s (to-device events, one per line: nothing is the
# right answer).
stranger_keyreq() {
	SYN_URL=$SYN_URL ROOM=$SEC_ROOM BOT_ID=$BOT_ID SID=$1 N=$2 /usr/bin/python3 -c '
import json, os, time, urllib.request
hs = os.environ["SYN_URL"]
def api(method, path, body=None, token=None):
    r = urllib.request.Request(hs + "/_matrix/client/v3" + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **({"Authorization": "Bearer " + token} if token else {})})
    return json.load(urllib.request.urlopen(r, timeout=30))
lg = api("POST", "/login", {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "mallory"},
    "password": "pw-mallory"})
tok, dev = lg["access_token"], lg["device_id"]
since = api("GET", "/sync?timeout=0", token=tok)["next_batch"]
for i in range(int(os.environ["N"])):
    body = {"action": "request", "requesting_device_id": dev, "request_id": "mallory%d" % i,
        "body": {"algorithm": "m.megolm.v1.aes-sha2", "room_id": os.environ["ROOM"], "session_id": os.environ["SID"]}}
    api("PUT", "/sendToDevice/m.room_key_request/mallory%d" % i, {"messages": {os.environ["BOT_ID"]: {"*": body}}}, tok)
end = time.time() + 5
while time.time() < end:
    s = api("GET", "/sync?timeout=1000&since=" + since, token=tok)
    since = s["next_batch"]
    for e in s.get("to_device", {}).get("events", []):
        if e.get("sender") == os.environ["BOT_ID"]:
            print(e.get("type"))
'
}

# The bot's own session (of its reply to q3): the peer's device received it.
check "a room-key request from the peer's device for the bot's own session is answered: vodozemac decrypts the m.forwarded_room_key" \
	wp keyreq sec q3 "$BOT_ID" 30
BOT_SID=${WP_LAST#ok }
BOT_SID=${BOT_SID%% *}
wait_log "room-key request from @alice:localhost (device" 10 || die "the bot did not log the answered request"
got=$(stranger_keyreq "$BOT_SID" 15) || die "the stranger's requests could not be sent"
check "the same request from a stranger's device (no room shared) gets nothing" test -z "$got"
check "and the bot logs why" wait_log "room-key request from @mallory:localhost not answered: device" 10
# 15 requests in a minute from her one device: 10 looked at (and
# refused), the 11th reported, the 4 others dropped without a line.
wait_log "over 10 room-key requests a minute" 10 || true
refused=$(grep -c "room-key request from @mallory:localhost not answered: device" "$WORK/bot.$BOT_N.log")
over=$(grep -c "room-key request from @mallory:localhost not answered: over 10 room-key requests a minute" "$WORK/bot.$BOT_N.log")
check "at most 10 room-key requests a minute from one device are looked at ($refused), the first one past it logged ($over), the rest dropped silently" \
	test "$refused" = 10 -a "$over" = 1

# The bot misses the peer's Megolm session: asked for and forwarded.
wp forwarding on >/dev/null || die "turning key forwarding on failed"
bot_stop || true
lost=$(db "SELECT count(*) FROM e2ee_inbound WHERE sender_user = '@alice:localhost'")
db "DELETE FROM e2ee_inbound WHERE sender_user = '@alice:localhost'" >/dev/null
log "deleted the bot's $lost inbound session(s) of alice"
bot_start
wp ask sec q4 all "faqbot: que veut dire SAIS ?" || die "sending the fourth question failed"
check "a question whose room key the bot lost is held and its key asked for (m.room_key_request)" \
	wait_log "asking @alice:localhost's devices for room key" 30
check "the peer forwards it, the bot takes it and answers" wp answer sec q4 "$BOT_ID" "saisie" 40
check "the forwarded key was logged as such" wait_log "forwarded room key for" 5

# The bot loses its Olm sessions: repaired with a new session and m.dummy.
# (Forwarding off: a key forwarded over the old session would make it the
# peer's most recently used one again.)
wp forwarding off >/dev/null || die "turning key forwarding off failed"
bot_stop || true
db "DELETE FROM e2ee_olm" >/dev/null
bot_start
wp ask sec q5 all "faqbot: que veut dire ARCH ?" new-session || die "sending the fifth question failed"
check "the peer's room key over the lost Olm session: the bot repairs it (new Olm session, m.dummy)" \
	wait_log "m.dummy goes over it" 40
check "vodozemac decrypts the bot's m.dummy (a new Olm session from the bot)" wp todevice "$BOT_ID" m.dummy 30
wp ask sec q6 all "faqbot: quand sera visible ma session validée hier sur Kairos ?" new-session ||
	die "sending the sixth question failed"
check "after the repair the peer's next question (a new room key, over the new Olm session) is answered" \
	wp answer sec q6 "$BOT_ID" Kairos 40

wp quit >/dev/null || true
CHECKS_DONE=1
log "$CHECKS_OK checks passed"
