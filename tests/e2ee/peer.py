#!/usr/bin/python3
# A second Matrix device made with python3-olm, the peer of
# tests/unit/test_e2ee.c.  State (pickled account and session) in STATE.
#   peer.py init STATE USER DEVICE  -> prints {"query": /keys/query answer,
#        "claim": /keys/claim answer} for this device, keys signed
#   peer.py reply STATE BOT_USER BOT_CURVE BOT_ED EVENT_FILE -> decrypts the
#        bot's Olm to-device event (pre-key), checks the payload, prints
#        {"got": payload, "event": an Olm reply event for the bot}; when the
#        payload is an m.room_key, also prints "megolm_plain" decrypted from
#        the "megolm" ciphertext found in EVENT_FILE.
import json, sys
import olm
import canonicaljson

def sign(acct, obj, user, dev):
    o = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    sig = acct.sign(canonicaljson.encode_canonical_json(o).decode())
    obj.setdefault("signatures", {}).setdefault(user, {})["ed25519:" + dev] = sig
    return obj

cmd, state = sys.argv[1], sys.argv[2]
if cmd == "init":
    user, dev = sys.argv[3], sys.argv[4]
    a = olm.Account()
    a.generate_one_time_keys(1)
    kid, key = next(iter(a.one_time_keys["curve25519"].items()))
    a.mark_keys_as_published()
    dk = sign(a, {"user_id": user, "device_id": dev,
                  "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
                  "keys": {"curve25519:" + dev: a.identity_keys["curve25519"],
                           "ed25519:" + dev: a.identity_keys["ed25519"]}}, user, dev)
    otk = sign(a, {"key": key}, user, dev)
    json.dump({"user": user, "dev": dev, "account": a.pickle("peerkey").decode()}, open(state, "w"))
    print(json.dumps({"query": {"device_keys": {user: {dev: dk}}},
                      "claim": {"one_time_keys": {user: {dev: {"signed_curve25519:" + kid: otk}}}}}))
elif cmd == "reply":
    bot_user, bot_curve, bot_ed, evfile = sys.argv[3:7]
    st = json.load(open(state))
    a = olm.Account.from_pickle(st["account"].encode(), "peerkey")
    ev = json.load(open(evfile))
    c = ev["content"]
    assert c["algorithm"] == "m.olm.v1.curve25519-aes-sha2" and c["sender_key"] == bot_curve
    ct = c["ciphertext"][a.identity_keys["curve25519"]]
    assert ct["type"] == 0
    msg = olm.OlmPreKeyMessage(ct["body"])
    s = olm.InboundSession(a, msg, bot_curve)
    a.remove_one_time_keys(s)
    got = json.loads(s.decrypt(msg))
    # the checks a receiving client makes (spec, m.olm.v1)
    assert got["sender"] == bot_user and got["recipient"] == st["user"]
    assert got["recipient_keys"]["ed25519"] == a.identity_keys["ed25519"]
    assert got["keys"]["ed25519"] == bot_ed
    out = {"got": got}
    if got["type"] == "m.room_key":
        igs = olm.InboundGroupSession(got["content"]["session_key"])
        plain, idx = igs.decrypt(ev["megolm"])
        out["megolm_plain"] = json.loads(plain)
        out["megolm_index"] = idx
    reply = {"type": "m.test.reply", "content": {"text": "réponse du pair"},
             "sender": st["user"], "sender_device": st["dev"], "recipient": bot_user,
             "recipient_keys": {"ed25519": bot_ed}, "keys": {"ed25519": a.identity_keys["ed25519"]}}
    m = s.encrypt(json.dumps(reply))
    out["event"] = {"type": "m.room.encrypted", "sender": st["user"], "content": {
        "algorithm": "m.olm.v1.curve25519-aes-sha2", "sender_key": a.identity_keys["curve25519"],
        "ciphertext": {bot_curve: {"type": m.message_type, "body": m.ciphertext}}}}
    print(json.dumps(out))
