#!/usr/bin/python3
"""e2ee_peer.py - what a well-behaved nio client never does, for the E2EE
test (issue 5): a question whose Megolm room key reaches the bot only
seconds after the question (the bot must hold the event, then answer it
when the key comes), and a look at the decrypted text of the bot's answer.
Uses client.py's login state and nio store (same -s/-H/-u/-p/--device), so
it is the same device as the `as USER --e2ee` steps.

  e2ee_peer.py -s STATE -H URL -u NAME -p PASS [--device D] CMD ...
  CMD: late-key NAME TAG BOT_ID --text T [--delay S]
       answer NAME TAG BOT_ID --contains TEXT [--timeout S]
       leave NAME
       plain NAME TAG --text T   (an unencrypted m.room.message, sent raw
                            into a room that may be encrypted: what a
                            homeserver could forge)
       ghost-key NAME TAG BOT_ID --text T
                            (issue 10: an Olm m.room_key to the bot from a
                             device of ours the server never listed, an
                             Olm account made here and never uploaded,
                             then a Megolm question under that session)
       withheld-key NAME TAG BOT_ID --text T [--send-key] [--timeout S]
                            (issue 10: a question under a Megolm session whose
                             key the bot does not get (with --send-key: sent
                             over our Olm session, which the bot has lost);
                             we wait for the bot's m.room_key_request, answer
                             it with m.forwarded_room_key, and wait for its
                             cancellation)
       junk-keys BOT_ID --count N
                            (issue 10: N m.room_key over our real Olm
                             session, for rooms the bot is not in)
       xsign-check BOT_ID [--master-out FILE] [--not-master FILE]
                            (the bot's device is cross-signed: signatures
                             checked with python3-signedjson; the published
                             master key written to / differing from FILE's)
       sessions NAME TAG BOT_ID --pattern P [--timeout S]
                            (the bot's replies to TAG, in the room's order,
                             all decrypt; their Megolm session ids follow P:
                             one letter a reply, same letter = same session)
Exit 0 when it worked / the check holds, 1 with the reason on stderr.
"""
import argparse
import asyncio
import json
import os
import sys
import time
import urllib.parse

import olm
from signedjson.key import decode_verify_key_base64
from signedjson.sign import SignatureVerifyException, verify_signed_json
from nio import MegolmEvent, RoomLeaveResponse, RoomMessageNotice
from nio.events.to_device import RoomKeyRequest, RoomKeyRequestCancellation

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import client  # noqa: E402  (client.py: connect, sync, State, room_id)

MEGOLM = "m.megolm.v1.aes-sha2"


def fail(msg):
    print("e2ee_peer.py: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


async def raw(c, method, path, body):
    resp = await c.send(method, path, json.dumps(body),
                        headers={"Authorization": "Bearer " + c.access_token,
                                 "Content-Type": "application/json"})
    data = await resp.json()
    if resp.status != 200:
        fail("%s %s: %s %s" % (method, path.split("?")[0], resp.status, data))
    return data


async def bot_device(c, bot_id):
    """The bot's device, with an Olm session to it (query and claim as
    needed, as nio does before sharing a key)."""
    c.olm.users_for_key_query.add(bot_id)
    await c.keys_query()
    devs = list(c.olm.device_store.active_user_devices(bot_id))
    if len(devs) != 1:
        fail("the bot should have exactly one device, has %d" % len(devs))
    dev = devs[0]
    if not c.olm.session_store.get(dev.curve25519):
        await c.keys_claim({bot_id: [dev.id]})
    if not c.olm.session_store.get(dev.curve25519):
        fail("no Olm session with the bot's device %s (no one-time key claimed?)" % dev.id)
    return dev


async def cmd_late_key(c, a):
    rid = client.room_id(a, a.name)
    dev = await bot_device(c, a.bot_id)
    # A Megolm session of our own, its key exported at index 0 before use.
    gs = olm.OutboundGroupSession()
    key0 = gs.session_key
    content = {"msgtype": "m.text", "body": a.text}
    plain = {"type": "m.room.message", "content": content, "room_id": rid}
    enc = {"algorithm": MEGOLM, "sender_key": c.olm.account.identity_keys["curve25519"],
           "ciphertext": gs.encrypt(json.dumps(plain)), "session_id": gs.id,
           "device_id": c.device_id}
    txn = "late-%d" % time.time_ns()
    t = time.time()
    r = await raw(c, "PUT", "/_matrix/client/v3/rooms/%s/send/m.room.encrypted/%s"
                  % (urllib.parse.quote(rid), txn), enc)
    q = {"id": r["event_id"], "text": a.text, "thread": None, "sender": c.user_id,
         "room": rid, "sent": t}
    client.State(a.state).update(lambda d: d["questions"].setdefault(a.tag, []).append(q))
    # The bot sees the event now, without its key.
    await asyncio.sleep(a.delay)
    room_key = {"algorithm": MEGOLM, "room_id": rid, "session_id": gs.id, "session_key": key0}
    sess = c.olm.session_store.get(dev.curve25519)
    msg = c.olm._olm_encrypt(sess, dev, "m.room_key", room_key)
    await raw(c, "PUT", "/_matrix/client/v3/sendToDevice/m.room.encrypted/%s" % (txn + "k"),
              {"messages": {a.bot_id: {dev.id: msg}}})
    print("question %s sent; its room key followed %.1f s later" % (q["id"], a.delay))


def record(a, tag, q):
    client.State(a.state).update(lambda d: d["questions"].setdefault(tag, []).append(q))


async def cmd_plain(c, a):
    rid = client.room_id(a, a.name)
    txn = "plain-%d" % time.time_ns()
    t = time.time()
    r = await raw(c, "PUT", "/_matrix/client/v3/rooms/%s/send/m.room.message/%s"
                  % (urllib.parse.quote(rid), txn), {"msgtype": "m.text", "body": a.text})
    record(a, a.tag, {"id": r["event_id"], "text": a.text, "thread": None, "sender": c.user_id,
                      "room": rid, "sent": t})
    print("plain message %s sent" % r["event_id"])


async def cmd_ghost_key(c, a):
    rid = client.room_id(a, a.name)
    dev = await bot_device(c, a.bot_id)
    r = await raw(c, "POST", "/_matrix/client/v3/keys/claim",
                  {"one_time_keys": {a.bot_id: {dev.id: "signed_curve25519"}}})
    keys = r.get("one_time_keys", {}).get(a.bot_id, {}).get(dev.id, {})
    if not keys:
        fail("no one-time key of the bot to claim")
    otk = next(iter(keys.values()))["key"]
    ghost = olm.Account()  # never uploaded: /keys/query does not list it
    sess = olm.OutboundSession(ghost, dev.curve25519, otk)
    gs = olm.OutboundGroupSession()
    room_key = {"algorithm": MEGOLM, "room_id": rid, "session_id": gs.id,
                "session_key": gs.session_key}
    payload = {"type": "m.room_key", "content": room_key, "sender": c.user_id,
               "sender_device": "GHOST", "recipient": a.bot_id,
               "recipient_keys": {"ed25519": dev.ed25519},
               "keys": {"ed25519": ghost.identity_keys["ed25519"]}}
    m = sess.encrypt(json.dumps(payload))
    content = {"algorithm": "m.olm.v1.curve25519-aes-sha2",
               "sender_key": ghost.identity_keys["curve25519"],
               "ciphertext": {dev.curve25519: {"type": m.message_type, "body": m.ciphertext}}}
    txn = "ghost-%d" % time.time_ns()
    await raw(c, "PUT", "/_matrix/client/v3/sendToDevice/m.room.encrypted/%s" % (txn + "k"),
              {"messages": {a.bot_id: {dev.id: content}}})
    plain = {"type": "m.room.message", "content": {"msgtype": "m.text", "body": a.text},
             "room_id": rid}
    enc = {"algorithm": MEGOLM, "sender_key": ghost.identity_keys["curve25519"],
           "ciphertext": gs.encrypt(json.dumps(plain)), "session_id": gs.id,
           "device_id": "GHOST"}
    t = time.time()
    r = await raw(c, "PUT", "/_matrix/client/v3/rooms/%s/send/m.room.encrypted/%s"
                  % (urllib.parse.quote(rid), txn), enc)
    record(a, a.tag, {"id": r["event_id"], "text": a.text, "thread": None, "sender": c.user_id,
                      "room": rid, "sent": t})
    print("room key from an unlisted device %s..., then question %s"
          % (ghost.identity_keys["curve25519"][:8], r["event_id"]))


async def cmd_withheld_key(c, a):
    rid = client.room_id(a, a.name)
    dev = await bot_device(c, a.bot_id)
    gs = olm.OutboundGroupSession()
    key0 = gs.session_key
    plain = {"type": "m.room.message", "content": {"msgtype": "m.text", "body": a.text},
             "room_id": rid}
    enc = {"algorithm": MEGOLM, "sender_key": c.olm.account.identity_keys["curve25519"],
           "ciphertext": gs.encrypt(json.dumps(plain)), "session_id": gs.id,
           "device_id": c.device_id}
    txn = "withheld-%d" % time.time_ns()
    if a.send_key:
        room_key = {"algorithm": MEGOLM, "room_id": rid, "session_id": gs.id, "session_key": key0}
        sess = c.olm.session_store.get(dev.curve25519)
        msg = c.olm._olm_encrypt(sess, dev, "m.room_key", room_key)
        await raw(c, "PUT", "/_matrix/client/v3/sendToDevice/m.room.encrypted/%s" % (txn + "k"),
                  {"messages": {a.bot_id: {dev.id: msg}}})
    t = time.time()
    r = await raw(c, "PUT", "/_matrix/client/v3/rooms/%s/send/m.room.encrypted/%s"
                  % (urllib.parse.quote(rid), txn), enc)
    record(a, a.tag, {"id": r["event_id"], "text": a.text, "thread": None, "sender": c.user_id,
                      "room": rid, "sent": t})
    end = time.monotonic() + a.timeout
    req_id = None
    while time.monotonic() < end:
        resp = await client.sync(c, 500)
        for ev in resp.to_device_events:
            if isinstance(ev, RoomKeyRequestCancellation):
                if req_id and ev.request_id == req_id and ev.sender == a.bot_id:
                    print("the bot cancelled its request %s once the key came" % req_id)
                    return
            elif isinstance(ev, RoomKeyRequest) and ev.sender == a.bot_id and ev.session_id == gs.id:
                if req_id:
                    continue
                req_id = ev.request_id
                if ev.room_id != rid or ev.requesting_device_id != dev.id:
                    fail("request for room %s from device %s" % (ev.room_id, ev.requesting_device_id))
                exported = olm.InboundGroupSession(key0).export_session(0)
                fwd = {"algorithm": MEGOLM, "room_id": rid,
                       "sender_key": c.olm.account.identity_keys["curve25519"],
                       "sender_claimed_ed25519_key": c.olm.account.identity_keys["ed25519"],
                       "session_id": gs.id, "session_key": exported,
                       "forwarding_curve25519_key_chain": []}
                sess = c.olm.session_store.get(dev.curve25519)
                msg = c.olm._olm_encrypt(sess, dev, "m.forwarded_room_key", fwd)
                await raw(c, "PUT", "/_matrix/client/v3/sendToDevice/m.room.encrypted/%s"
                          % (txn + "f"), {"messages": {a.bot_id: {dev.id: msg}}})
                print("the bot asked for session %s... (request %s): forwarded" % (gs.id[:8], req_id))
    fail("no %s from the bot within %ss" % ("cancellation" if req_id else "m.room_key_request", a.timeout))


async def cmd_junk_keys(c, a):
    dev = await bot_device(c, a.bot_id)
    for i in range(a.count):
        gs = olm.OutboundGroupSession()
        room_key = {"algorithm": MEGOLM, "room_id": "!junk%d:evil.example" % i,
                    "session_id": gs.id, "session_key": gs.session_key}
        sess = c.olm.session_store.get(dev.curve25519)
        msg = c.olm._olm_encrypt(sess, dev, "m.room_key", room_key)
        await raw(c, "PUT", "/_matrix/client/v3/sendToDevice/m.room.encrypted/junk-%d-%d"
                  % (time.time_ns(), i), {"messages": {a.bot_id: {dev.id: msg}}})
    print("%d room keys for rooms the bot is not in sent" % a.count)


async def cmd_answer(c, a):
    """The decrypted body of the bot's reply to the question tagged TAG
    must contain TEXT (the French answer, not just any notice)."""
    rid = client.room_id(a, a.name)
    qs = client.tag_questions(a, rid)
    end = time.monotonic() + a.timeout
    while True:
        await client.sync(c, 500)
        got, _ = await client.replies(c, rid, a.bot_id, qs)
        if all(got.values()) or time.monotonic() > end:
            break
    for q in qs:
        evs = got.get(q["id"]) or []
        if not evs:
            fail("no decryptable reply to %s" % q["id"])
        ev = evs[0]
        if isinstance(ev, MegolmEvent) or not isinstance(ev, RoomMessageNotice):
            fail("reply %s is not a decrypted m.notice (%s)" % (ev.event_id, type(ev).__name__))
        if a.contains not in ev.body:
            fail("reply to %s does not contain %r: %r" % (q["id"], a.contains, ev.body[:300]))
        print("reply to %s: %s" % (q["id"], ev.body[:120]))


async def cmd_leave(c, a):
    rid = client.room_id(a, a.name)
    r = await c.room_leave(rid)
    if not isinstance(r, RoomLeaveResponse):
        fail("leave %s: %s" % (a.name, r))


def verify(obj, user, key_b64, what, key_version=None):
    """obj signed by user's ed25519 key key_b64, whose key id is
    ed25519:<key_version> (cross-signing keys: the key itself)."""
    vk = decode_verify_key_base64("ed25519", key_version or key_b64, key_b64)
    try:
        verify_signed_json(obj, user, vk)
    except SignatureVerifyException as e:
        fail("%s: %s" % (what, e))


async def cmd_xsign_check(c, a):
    """As another user sees it in /keys/query: the master key signs the
    self-signing key, which signs the bot's device, which signs itself."""
    bot = a.bot_id
    q = await raw(c, "POST", "/_matrix/client/v3/keys/query", {"device_keys": {bot: []}})
    devs = q.get("device_keys", {}).get(bot, {})
    mk = q.get("master_keys", {}).get(bot)
    ssk = q.get("self_signing_keys", {}).get(bot)
    if len(devs) != 1 or not mk or not ssk:
        fail("bot: %d device(s), master key %s, self-signing key %s" % (len(devs), bool(mk), bool(ssk)))
    (dev_id, dev), = devs.items()
    mk_pub, = mk["keys"].values()
    ssk_pub, = ssk["keys"].values()
    if mk.get("usage") != ["master"] or ssk.get("usage") != ["self_signing"]:
        fail("usages: %s %s" % (mk.get("usage"), ssk.get("usage")))
    verify(ssk, bot, mk_pub, "self-signing key not signed by the master key")
    verify(dev, bot, ssk_pub, "device not signed by the self-signing key")
    verify(dev, bot, dev["keys"]["ed25519:" + dev_id], "device keys not self-signed", dev_id)
    if a.not_master:
        with open(a.not_master) as f:
            old = f.read().strip()
        if old == mk_pub:
            fail("the published master key is still the old one, %s..." % mk_pub[:8])
    if a.master_out:
        with open(a.master_out, "w") as f:
            f.write(mk_pub + "\n")
    print("device %s of %s: self-signed, signed by self-signing key %s..., itself signed by "
          "master key %s..." % (dev_id, bot, ssk_pub[:8], mk_pub[:8]))


async def cmd_sessions(c, a):
    """Megolm rotation as the receiving client sees it: each reply of the
    bot to the questions of TAG, in the room's order, decrypts; the
    session_id of its m.room.encrypted content (as the server holds it)
    matches the pattern: replies i and j share a session exactly when
    pattern[i] == pattern[j]."""
    rid = client.room_id(a, a.name)
    qs = client.tag_questions(a, rid)
    end = time.monotonic() + a.timeout
    while True:
        await client.sync(c, 500)
        got, _ = await client.replies(c, rid, a.bot_id, qs)
        if all(got.values()) or time.monotonic() > end:
            break
    ids = {q["id"] for q in qs}
    seen = []
    for ev in await client.room_events(c, rid):
        rel = ev.source.get("content", {}).get("m.relates_to") or {}
        if ev.sender == a.bot_id and (rel.get("m.in_reply_to") or {}).get("event_id") in ids:
            seen.append(ev)
    raw_evs = await client.raw_bot_events(c, rid, a.bot_id)
    sids = []
    for ev in seen:
        r = raw_evs.get(ev.event_id) or {}
        rc = r.get("content", {})
        if r.get("type") != "m.room.encrypted" or rc.get("algorithm") != MEGOLM:
            fail("reply %s is not Megolm-encrypted (type %s)" % (ev.event_id, r.get("type")))
        if isinstance(ev, MegolmEvent) or not isinstance(ev, RoomMessageNotice):
            fail("reply %s (session %s) does not decrypt on this device (%s)"
                 % (ev.event_id, rc.get("session_id"), type(ev).__name__))
        sids.append(rc.get("session_id"))
        print("reply %s: session %s, %r" % (ev.event_id, rc.get("session_id"), ev.body[:60]))
    if len(seen) != len(qs):
        fail("%d replies to %d questions" % (len(seen), len(qs)))
    if len(sids) != len(a.pattern):
        fail("%d replies, pattern %s has %d" % (len(sids), a.pattern, len(a.pattern)))
    for i in range(len(sids)):
        for j in range(i + 1, len(sids)):
            if (a.pattern[i] == a.pattern[j]) != (sids[i] == sids[j]):
                fail("replies %d and %d: sessions %s and %s, want them %s (pattern %s)"
                     % (i + 1, j + 1, sids[i][:12], sids[j][:12],
                        "the same" if a.pattern[i] == a.pattern[j] else "different", a.pattern))
    print("%d replies, %d session(s), as %s" % (len(sids), len(set(sids)), a.pattern))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-s", "--state", required=True)
    ap.add_argument("-H", "--hs", required=True)
    ap.add_argument("-u", "--user", required=True)
    ap.add_argument("-p", "--password", required=True)
    ap.add_argument("--device", default="main")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("late-key")
    p.add_argument("name")
    p.add_argument("tag")
    p.add_argument("bot_id")
    p.add_argument("--text", required=True)
    p.add_argument("--delay", type=float, default=3)
    p = sub.add_parser("answer")
    p.add_argument("name")
    p.add_argument("tag")
    p.add_argument("bot_id")
    p.add_argument("--contains", required=True)
    p.add_argument("--timeout", type=float, default=20)
    p = sub.add_parser("leave")
    p.add_argument("name")
    p = sub.add_parser("plain")
    p.add_argument("name")
    p.add_argument("tag")
    p.add_argument("--text", required=True)
    p = sub.add_parser("ghost-key")
    p.add_argument("name")
    p.add_argument("tag")
    p.add_argument("bot_id")
    p.add_argument("--text", required=True)
    p = sub.add_parser("withheld-key")
    p.add_argument("name")
    p.add_argument("tag")
    p.add_argument("bot_id")
    p.add_argument("--text", required=True)
    p.add_argument("--send-key", action="store_true")
    p.add_argument("--timeout", type=float, default=30)
    p = sub.add_parser("junk-keys")
    p.add_argument("bot_id")
    p.add_argument("--count", type=int, default=20)
    p = sub.add_parser("xsign-check")
    p.add_argument("bot_id")
    p.add_argument("--master-out", help="write the published master key there")
    p.add_argument("--not-master", help="fail if the master key is the one in this file")
    p = sub.add_parser("sessions")
    p.add_argument("name")
    p.add_argument("tag")
    p.add_argument("bot_id")
    p.add_argument("--pattern", required=True)
    p.add_argument("--timeout", type=float, default=20)
    a = ap.parse_args()
    a.e2ee = True

    async def run():
        c = await client.connect(a)
        try:
            await globals()["cmd_" + a.cmd.replace("-", "_")](c, a)
        finally:
            await c.close()
    asyncio.run(run())


if __name__ == "__main__":
    main()
