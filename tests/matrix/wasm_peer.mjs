#!/usr/bin/env node
// tests/matrix/wasm_peer.mjs - a small Matrix client whose end-to-end
// encryption is @matrix-org/matrix-sdk-crypto-wasm's OlmMachine (the
// Rust / vodozemac crypto of current Element), for the E2EE interop test
// (tests/integration/37-matrix-e2ee-element.sh, issue 5).  HTTP is Node's
// own fetch; the OlmMachine is driven as Element drives it: its
// outgoingRequests() sent and marked as sent, each /sync fed to
// receiveSyncChanges, shareRoomKey + encryptRoomEvent to send,
// decryptRoomEvent to read.
//
// Like Element, it sets up cross-signing of its own at login (the
// identity-based sharing strategy needs it).
//
// The machine keeps its keys in memory only (its persistent store is
// IndexedDB, absent in Node), so one process is one device for the whole
// test: it logs in, then reads commands on stdin, one a line, arguments
// separated by tabs, and answers each with one line on stdout, "ok ..." or
// "fail REASON".  Diagnostics go to stderr.
//
//   WASM_CRYPTO_DIR=DIR node wasm_peer.mjs -H URL -u NAME   (password in
//   the environment, WASM_PEER_PASSWORD)
//   DIR: an npm prefix holding node_modules/@matrix-org/matrix-sdk-crypto-wasm
//
// Commands:
//   room NAME BOT_ID [direct]        create an encrypted room (or direct
//                                    chat) and invite BOT_ID; "ok ROOM_ID"
//   wait-join NAME USER_ID [SECS]    USER_ID is joined
//   xsign USER_ID                    USER_ID's one device is cross-signed
//                                    by its owner, as this machine sees it
//   ask NAME TAG STRATEGY TEXT [new-session]
//                                    encrypt and send TEXT; the room key
//                                    is shared with the members' devices
//                                    under STRATEGY: all (every device) or
//                                    identity (only devices signed by their
//                                    owner's cross-signing identity);
//                                    new-session: under a new Megolm session
//   key-sent NAME USER_ID            this device shared its room key of
//                                    NAME with USER_ID's device
//   answer NAME TAG BOT_ID TEXT [SECS]  the bot's one reply to TAG is
//                                    m.room.encrypted (Megolm), names TAG's
//                                    event in its clear m.relates_to,
//                                    decrypts (requiring a cross-signed
//                                    sender device) to an m.notice whose
//                                    body contains TEXT, with no red shield;
//                                    and every to-device message of BOT_ID
//                                    so far decrypted (Olm)
//   forwarding on|off                answer other devices' m.room_key_request
//                                    for our sessions they received
//                                    (matrix-sdk-crypto's key forwarding)
//   keyreq NAME TAG BOT_ID [SECS]    send an m.room_key_request (in the
//                                    clear, as clients do) to BOT_ID's
//                                    devices for the Megolm session of the
//                                    bot's reply to TAG; ok "SESSION_ID ..."
//                                    once an m.forwarded_room_key of that
//                                    session came from BOT_ID over Olm
//   todevice USER_ID TYPE [SECS]     a to-device event of TYPE from USER_ID
//                                    was decrypted (Olm), within SECS
//   quit
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import path from "node:path";

// The crypto library logs through console: keep stdout for the protocol.
for (const k of ["log", "info", "debug", "warn", "error", "trace"])
	console[k] = (...a) => process.stderr.write(a.map(String).join(" ") + "\n");

const { values: opt } = parseArgs({
	options: {
		hs: { type: "string", short: "H" },
		user: { type: "string", short: "u" },
		device: { type: "string", default: "element" },
	},
});
const password = process.env.WASM_PEER_PASSWORD;
if (!opt.hs || !opt.user || !password || !process.env.WASM_CRYPTO_DIR) {
	process.stderr.write("usage: WASM_CRYPTO_DIR=DIR WASM_PEER_PASSWORD=PW wasm_peer.mjs -H URL -u NAME\n");
	process.exit(2);
}
const req = createRequire(path.join(path.resolve(process.env.WASM_CRYPTO_DIR), "noop.js"));
const sdk = req("@matrix-org/matrix-sdk-crypto-wasm");
const {
	OlmMachine, UserId, DeviceId, RoomId, DeviceLists, RequestType, EncryptionSettings,
	CollectStrategy, DecryptionSettings, TrustRequirement, HistoryVisibility, ShieldColor,
	ProcessedToDeviceEventType, DecryptionErrorCode,
} = sdk;

const MEGOLM = "m.megolm.v1.aes-sha2";
const note = (s) => process.stderr.write(`[wasm_peer ${opt.user}] ${s}\n`);
class Fail extends Error {}
const fail = (s) => { throw new Fail(s); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const enc = encodeURIComponent;

let token = null;
let me = null;
let deviceId = null;
let machine = null;
let since = null;
let txn = 0;
const rooms = new Map();      // NAME -> room id
const questions = new Map();  // TAG -> {id, room}
const keysTo = new Map();     // room id -> Set of "user device" given our room key
const utd = [];               // senders of to-device events that did not decrypt
const decrypted = [];         // to-device events that did: {sender, type, content}

// api: one Client-Server API call; the response's text (the machine wants
// the raw JSON) and its parsed form.  429 is waited out, as clients do.
async function api(method, p, body) {
	for (let attempt = 0; ; attempt++) {
		const headers = { "Content-Type": "application/json" };
		if (token)
			headers.Authorization = "Bearer " + token;
		const r = await fetch(opt.hs + "/_matrix/client/v3" + p, {
			method, headers,
			body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
			signal: AbortSignal.timeout(60000),
		});
		const text = await r.text();
		let json = null;
		try { json = JSON.parse(text); } catch { /* reported below */ }
		if (r.status === 429 && attempt < 20) {
			await sleep(Math.min(json?.retry_after_ms ?? 500, 5000));
			continue;
		}
		if (!r.ok || json === null)
			fail(`${method} ${p.split("?")[0]}: HTTP ${r.status} ${text.slice(0, 300)}`);
		return { text, json };
	}
}

// uia: a call that may want user-interactive auth (Synapse skips it for a
// first cross-signing upload; a password stage otherwise).
async function uia(method, p, body) {
	const headers = { "Content-Type": "application/json", Authorization: "Bearer " + token };
	const first = await fetch(opt.hs + "/_matrix/client/v3" + p, { method, headers, body: JSON.stringify(body) });
	const text = await first.text();
	if (first.ok)
		return { text, json: JSON.parse(text) };
	if (first.status !== 401)
		fail(`${method} ${p}: HTTP ${first.status} ${text.slice(0, 300)}`);
	const { session } = JSON.parse(text);
	return api(method, p, { ...body, auth: { type: "m.login.password", session, password,
		identifier: { type: "m.id.user", user: me } } });
}

// send: one request of the machine, then markRequestAsSent with the answer.
async function send(r) {
	let res;
	switch (r.type) {
	case RequestType.KeysUpload:
		res = await api("POST", "/keys/upload", r.body);
		break;
	case RequestType.KeysQuery:
		res = await api("POST", "/keys/query", r.body);
		break;
	case RequestType.KeysClaim:
		res = await api("POST", "/keys/claim", r.body);
		break;
	case RequestType.ToDevice:
		res = await api("PUT", `/sendToDevice/${enc(r.event_type)}/${enc(r.txn_id)}`, r.body);
		break;
	case RequestType.SignatureUpload:
		res = await api("POST", "/keys/signatures/upload", r.body);
		break;
	case RequestType.RoomMessage:
		res = await api("PUT", `/rooms/${enc(r.room_id)}/send/${enc(r.event_type)}/${enc(r.txn_id)}`, r.body);
		break;
	default:
		fail(`unexpected outgoing request type ${r.type}`);
	}
	if (r.id)
		await machine.markRequestAsSent(r.id, r.type, res.text);
}

// flush: what the machine wants sent (key upload, key queries, ...), until
// it wants nothing more.
async function flush() {
	for (let round = 0; round < 10; round++) {
		const reqs = await machine.outgoingRequests();
		if (!reqs.length)
			return;
		for (const r of reqs)
			await send(r);
	}
}

// sync: one /sync, its to-device events, device list changes and one-time
// key counts fed to the machine, then the machine's requests sent.
async function sync(timeoutMs) {
	const q = new URLSearchParams({ timeout: String(timeoutMs),
		filter: JSON.stringify({ room: { timeline: { limit: 1 } } }) });
	if (since)
		q.set("since", since);
	const { json: s } = await api("GET", "/sync?" + q);
	since = s.next_batch;
	const dl = s.device_lists || {};
	const processed = await machine.receiveSyncChanges(
		JSON.stringify(s.to_device?.events ?? []),
		new DeviceLists((dl.changed ?? []).map((u) => new UserId(u)), (dl.left ?? []).map((u) => new UserId(u))),
		new Map(Object.entries(s.device_one_time_keys_count ?? {})),
		new Set(s.device_unused_fallback_key_types ?? s["org.matrix.msc2732.device_unused_fallback_key_types"] ?? []));
	for (const ev of processed) {
		if (ev.type === ProcessedToDeviceEventType.UnableToDecrypt) {
			const raw = JSON.parse(ev.rawEvent);
			utd.push(raw.sender);
			note(`a to-device event from ${raw.sender} did not decrypt: ${ev.rawEvent.slice(0, 300)}`);
		} else if (ev.type === ProcessedToDeviceEventType.Decrypted) {
			const raw = JSON.parse(ev.rawEvent);
			decrypted.push(raw);
			note(`to-device ${raw.type} from ${raw.sender} decrypted`);
		}
	}
	await flush();
}

function roomOf(name) {
	return rooms.get(name) ?? fail(`no room named ${name}`);
}

async function members(rid) {
	const { json } = await api("GET", `/rooms/${enc(rid)}/joined_members`);
	return Object.keys(json.joined ?? {});
}

const commands = {
	async room(name, bot, kind) {
		const direct = kind === "direct";
		const body = {
			visibility: "private", preset: direct ? "trusted_private_chat" : "private_chat",
			invite: [bot], is_direct: direct,
			initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: MEGOLM } }],
		};
		if (!direct)
			body.name = name;
		const { json } = await api("POST", "/createRoom", body);
		rooms.set(name, json.room_id);
		if (direct) {
			// What Element does for a direct chat: m.direct account data.
			await api("PUT", `/user/${enc(me)}/account_data/m.direct`, { [bot]: [json.room_id] });
		}
		return json.room_id;
	},

	async "wait-join"(name, user, secs = "30") {
		const rid = roomOf(name);
		const end = Date.now() + Number(secs) * 1000;
		while (Date.now() < end) {
			if ((await members(rid)).includes(user))
				return `${user} joined`;
			await sync(200);
		}
		fail(`${user} did not join ${name} within ${secs}s`);
	},

	async xsign(user) {
		await machine.updateTrackedUsers([new UserId(user)]);
		await machine.markAllTrackedUsersAsDirty();
		await flush();
		const devs = (await machine.getUserDevices(new UserId(user), 5)).devices();
		if (devs.length !== 1)
			fail(`${user} has ${devs.length} device(s), want 1`);
		const d = devs[0];
		const id = await machine.getIdentity(new UserId(user));
		if (!id)
			fail(`no cross-signing identity of ${user} accepted (master / self-signing keys missing or badly signed)`);
		const mk = Object.values(JSON.parse(id.masterKey).keys)[0];
		const ssk = Object.values(JSON.parse(id.selfSigningKey).keys)[0];
		if (!d.isCrossSignedByOwner())
			fail(`device ${d.deviceId} of ${user} is not cross-signed by its owner (no valid signature by its self-signing key ${ssk.slice(0, 8)}...)`);
		return `device ${d.deviceId} of ${user} cross-signed by its owner, master key ${mk.slice(0, 8)}...`;
	},

	async ask(name, tag, strategy, text, fresh) {
		const rid = roomOf(name);
		// A new Megolm session: its key goes to the bot over Olm again.
		if (fresh === "new-session" && !await machine.invalidateGroupSession(new RoomId(rid)))
			fail(`no Megolm session of ${name} to replace`);
		const who = await members(rid);
		await machine.updateTrackedUsers(who.map((u) => new UserId(u)));
		await flush();
		const claim = await machine.getMissingSessions(who.map((u) => new UserId(u)));
		if (claim)
			await send(claim);
		const settings = new EncryptionSettings();
		settings.historyVisibility = HistoryVisibility.Shared;
		if (strategy === "identity")
			settings.sharingStrategy = CollectStrategy.identityBasedStrategy();
		else if (strategy === "all")
			settings.sharingStrategy = CollectStrategy.allDevices();
		else
			fail(`unknown sharing strategy ${strategy}`);
		const got = keysTo.get(rid) ?? new Set();
		keysTo.set(rid, got);
		for (const r of await machine.shareRoomKey(new RoomId(rid), who.map((u) => new UserId(u)), settings)) {
			// (devices left out get an m.room_key.withheld, in the clear)
			for (const [u, devs] of Object.entries(r.event_type === "m.room.encrypted" ? JSON.parse(r.body).messages ?? {} : {}))
				for (const d of Object.keys(devs))
					got.add(`${u} ${d}`);
			await send(r);
		}
		const content = await machine.encryptRoomEvent(new RoomId(rid), "m.room.message",
			JSON.stringify({ msgtype: "m.text", body: text }));
		const { json } = await api("PUT", `/rooms/${enc(rid)}/send/m.room.encrypted/wasm-${Date.now()}-${txn++}`, content);
		const cj = JSON.parse(content);
		note(`${tag}: ${json.event_id}, session ${cj.session_id}, Megolm content fields ${Object.keys(cj).sort().join(" ")}`);
		questions.set(tag, { id: json.event_id, room: rid });
		return json.event_id;
	},

	async "key-sent"(name, user) {
		const got = [...(keysTo.get(roomOf(name)) ?? [])].filter((k) => k.startsWith(user + " "));
		if (!got.length)
			fail(`our room key of ${name} went to no device of ${user}`);
		return `room key sent to ${got.join(", ")}`;
	},

	async answer(name, tag, bot, want, secs = "30") {
		const rid = roomOf(name);
		const q = questions.get(tag) ?? fail(`no question tagged ${tag}`);
		const end = Date.now() + Number(secs) * 1000;
		const settings = new DecryptionSettings(TrustRequirement.CrossSigned);
		let why = "no reply";
		while (Date.now() < end) {
			await sync(500);
			const { json } = await api("GET", `/rooms/${enc(rid)}/messages?dir=b&limit=100`);
			const mine = json.chunk.filter((ev) => ev.sender === bot && ev.type !== "m.room.member");
			const replies = mine.filter((ev) => ev.content?.["m.relates_to"]?.["m.in_reply_to"]?.event_id === q.id);
			if (!replies.length) {
				why = mine.length ? `${mine.length} event(s) of ${bot}, none with a clear m.relates_to to ${q.id}` : "no reply";
				await sleep(200);
				continue;
			}
			if (replies.length > 1)
				fail(`${replies.length} replies to ${q.id}, want one`);
			const ev = replies[0];
			if (ev.type !== "m.room.encrypted" || ev.content.algorithm !== MEGOLM)
				fail(`reply ${ev.event_id} is ${ev.type} (${ev.content.algorithm}), not Megolm-encrypted`);
			let dec;
			try {
				dec = await machine.decryptRoomEvent(JSON.stringify(ev), new RoomId(rid), settings);
			} catch (e) {
				why = `reply ${ev.event_id} (session ${ev.content.session_id}) does not decrypt: ` +
					`${e.code ?? ""} ${e.description ?? e.message ?? e}${e.withheldCode ? " (withheld: " + e.withheldCode + ")" : ""}`;
				// Only a key still on its way is worth waiting for.
				if (e.code !== DecryptionErrorCode.MissingRoomKey)
					fail(why);
				await sleep(200);
				continue;
			}
			const plain = JSON.parse(dec.event);
			const c = plain.content ?? {};
			if (plain.type !== "m.room.message" || c.msgtype !== "m.notice")
				fail(`reply ${ev.event_id} decrypts to ${plain.type} / ${c.msgtype}, want an m.notice`);
			if (typeof c.body !== "string" || !c.body.includes(want))
				fail(`reply ${ev.event_id} does not contain ${JSON.stringify(want)}: ${JSON.stringify(c.body).slice(0, 300)}`);
			if (dec.sender.toString() !== bot)
				fail(`reply ${ev.event_id}: decrypted sender ${dec.sender}`);
			const shield = dec.shieldState(false);
			if (shield.color === ShieldColor.Red)
				fail(`reply ${ev.event_id} gets a red shield: ${shield.message}`);
			const bad = utd.filter((u) => u === bot).length;
			if (bad)
				fail(`${bad} to-device message(s) from ${bot} did not decrypt (Olm)`);
			// A second reply (answered twice) would show a moment later.
			await sleep(1000);
			const again = await api("GET", `/rooms/${enc(rid)}/messages?dir=b&limit=100`);
			const n = again.json.chunk.filter((e) => e.sender === bot &&
				e.content?.["m.relates_to"]?.["m.in_reply_to"]?.event_id === q.id).length;
			if (n !== 1)
				fail(`${n} replies to ${q.id}, want one`);
			return `reply ${ev.event_id} from device ${dec.senderDevice}, session ${ev.content.session_id.slice(0, 8)}...: ${c.body.slice(0, 100).replace(/\s+/g, " ")}`;
		}
		fail(`within ${secs}s: ${why}`);
	},

	async forwarding(on) {
		machine.roomKeyForwardingEnabled = on === "on";
		return `room key forwarding ${machine.roomKeyForwardingEnabled ? "on" : "off"}`;
	},

	async keyreq(name, tag, bot, secs = "20") {
		const rid = roomOf(name);
		const q = questions.get(tag) ?? fail(`no question tagged ${tag}`);
		const { json } = await api("GET", `/rooms/${enc(rid)}/messages?dir=b&limit=100`);
		const reply = json.chunk.find((ev) => ev.sender === bot &&
			ev.content?.["m.relates_to"]?.["m.in_reply_to"]?.event_id === q.id) ?? fail(`no reply to ${tag}`);
		const sid = reply.content.session_id;
		const rqid = `wasmkr${Date.now()}`;
		const body = { action: "request", requesting_device_id: deviceId, request_id: rqid,
			body: { algorithm: MEGOLM, room_id: rid, session_id: sid } };
		await api("PUT", `/sendToDevice/m.room_key_request/${rqid}`, { messages: { [bot]: { "*": body } } });
		const end = Date.now() + Number(secs) * 1000;
		while (Date.now() < end) {
			await sync(500);
			const got = decrypted.find((e) => e.sender === bot && e.type === "m.forwarded_room_key" &&
				e.content?.session_id === sid);
			if (got) {
				if (got.content.room_id !== rid || got.content.algorithm !== MEGOLM)
					fail(`forwarded key of ${sid.slice(0, 8)}... for ${got.content.room_id} (${got.content.algorithm})`);
				return `${sid} forwarded by ${bot} over Olm`;
			}
		}
		fail(`no m.forwarded_room_key of session ${sid} from ${bot} within ${secs}s`);
	},

	async todevice(user, type, secs = "30") {
		const end = Date.now() + Number(secs) * 1000;
		while (Date.now() < end) {
			if (decrypted.some((e) => e.sender === user && e.type === type))
				return `${type} from ${user} decrypted`;
			await sync(500);
		}
		fail(`no ${type} from ${user} decrypted within ${secs}s`);
	},

	async quit() {
		return "bye";
	},
};

async function main() {
	const { json: lg } = await api("POST", "/login", {
		type: "m.login.password", identifier: { type: "m.id.user", user: opt.user },
		password, initial_device_display_name: "wasm-" + opt.device,
	});
	token = lg.access_token;
	me = lg.user_id;
	deviceId = lg.device_id;
	machine = await OlmMachine.initialize(new UserId(me), new DeviceId(deviceId));
	await flush();  // device keys and one-time keys
	// Cross-signing of our own, as Element sets it up: the identity-based
	// sharing strategy refuses to work without it.
	const b = await machine.bootstrapCrossSigning(true);
	if (b.uploadKeysRequest)
		await send(b.uploadKeysRequest);
	await uia("POST", "/keys/device_signing/upload", JSON.parse(b.uploadSigningKeysRequest.body));
	await api("POST", "/keys/signatures/upload", b.uploadSignaturesRequest.body);
	await sync(0);
	note(`logged in as ${me}, device ${deviceId}, crypto ${sdk.getVersions().matrix_sdk_crypto} / vodozemac ${sdk.getVersions().vodozemac}`);
	process.stdout.write(`ok ${deviceId}\n`);

	const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
	for await (const line of rl) {
		if (!line.trim())
			continue;
		const [cmd, ...args] = line.split("\t");
		let out;
		try {
			const fn = commands[cmd] ?? fail(`unknown command ${cmd}`);
			out = "ok " + await fn(...args);
		} catch (e) {
			out = "fail " + (e instanceof Fail ? e.message : `${cmd}: ${e?.stack ?? e}`);
		}
		note(`${cmd}: ${out}`);
		process.stdout.write(out.replace(/\n/g, " ") + "\n");
		if (cmd === "quit")
			break;
	}
	machine.close();
}

main().catch((e) => {
	process.stdout.write(`fail start-up: ${String(e?.message ?? e).replace(/\n/g, " ")}\n`);
	note(e?.stack ?? String(e));
	process.exit(1);
});
