#!/usr/bin/python3
"""client.py - a real Matrix client (matrix-nio, python3-olm from bookworm)
that plays the person asking the bot, for the integration tests and the
benchmark.  Each subcommand is one step; what must survive between steps
(login, rooms, the event ids of the questions asked) is kept in a JSON
state file, so a shell test can start, kill and restart the bot between
steps.  Checks the replies as issue 4 asks (m.notice, reply relation,
thread, mentions, plain body, escaped HTML) and counts them (exactly once).
Not here: Synapse (synapse.sh) or any bot (minibot.py, ./faqbot).

  client.py -s STATE -H URL -u NAME -p PASS [--e2ee] [--device D] CMD ...
  CMD: room NAME [--direct] [--encrypted] [--invite @bot:localhost]
                  [--rotation-msgs N] [--rotation-ms MS]
       join NAME                   (this user joins a room another made)
       devices USER_ID             (count of USER_ID's devices; needs an admin)
       ratelimit USER_ID PER_S BURST (Synapse override; needs an admin)
       not-joined NAME USER_ID [--wait S] (USER_ID did not join within S)
       edit NAME TAG               (m.replace each question; edits go to TAG-edit)
       wait-join NAME USER_ID [--timeout S]
       ask NAME TAG [--count N] [--text T] [--thread] [--mention USER_ID]
                    [--prefix P] [--html] [--msgtype T] [--concurrency C]
       expect NAME TAG[,TAG...] BOT_ID [--timeout S] [--settle S] [--encrypted]
                    [--body-has TEXT]
       expect-none NAME TAG BOT_ID [--wait S]
       latency NAME BOT_ID [--count N] [--prefix P] [--timeout S]
       burst NAME BOT_ID [--count N] [--timeout S]
Exit 0 when every check holds, 1 with the reasons on stderr otherwise.
"""
import argparse
import asyncio
import fcntl
import html.parser
import json
import os
import sys
import time
import urllib.parse

from nio import (AsyncClient, AsyncClientConfig, LoginResponse, MegolmEvent,
                 RoomCreateResponse, RoomMessagesResponse, RoomSendResponse,
                 JoinedMembersResponse, SyncResponse)
from nio.api import MessageDirection, RoomPreset, RoomVisibility

DEFAULT_Q = "quand sera visible ma session validée hier sur Kairos ?"


def fail(msg):
    print("client.py: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


class State:
    """The JSON state file, locked while read-modified-written."""

    def __init__(self, path):
        self.path = path

    def update(self, fn):
        with open(self.path + ".lock", "w") as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)
            d = self.read()
            fn(d)
            tmp = self.path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(d, f, indent=1)
            os.replace(tmp, self.path)

    def read(self):
        try:
            with open(self.path) as f:
                return json.load(f)
        except FileNotFoundError:
            return {"users": {}, "rooms": {}, "questions": {}}


async def connect(a):
    """Logs in once per (user, device label); later steps reuse the token
    and the device (and, with --e2ee, its Olm store under the state dir)."""
    st = State(a.state)
    key = "%s/%s" % (a.user, a.device)
    user_id = "@%s:localhost" % a.user
    store = os.path.join(os.path.dirname(os.path.abspath(a.state)), "nio-store", key.replace("/", "_"))
    os.makedirs(store, exist_ok=True)
    cfg = AsyncClientConfig(encryption_enabled=a.e2ee, store_sync_tokens=True,
                            max_timeouts=3, request_timeout=60)
    creds = st.read()["users"].get(key)
    if creds:
        c = AsyncClient(a.hs, user_id, device_id=creds["device_id"], store_path=store, config=cfg)
        c.restore_login(user_id, creds["device_id"], creds["access_token"])
    else:
        c = AsyncClient(a.hs, user_id, store_path=store, config=cfg)
        r = await c.login(a.password, device_name="test-" + a.device)
        if not isinstance(r, LoginResponse):
            fail("login %s: %s" % (user_id, r))
        st.update(lambda d: d["users"].__setitem__(key, {
            "user_id": r.user_id, "device_id": r.device_id, "access_token": r.access_token}))
    # full_state: nio keeps no rooms in its store, only the sync token.
    await sync(c, 0, True)
    return c


async def sync(c, timeout_ms, full_state=False):
    r = await c.sync(timeout=timeout_ms, full_state=full_state or c.next_batch is None)
    if not isinstance(r, SyncResponse):
        fail("sync: %s" % r)
    if c.olm:
        # What sync_forever does between syncs: keep the Olm side current.
        if c.should_upload_keys:
            await c.keys_upload()
        if c.should_query_keys:
            await c.keys_query()
        if c.should_claim_keys:
            await c.keys_claim(c.get_users_for_key_claiming())
        await c.send_to_device_messages()
    return r


def room_id(a, name):
    rid = State(a.state).read()["rooms"].get(name)
    if not rid:
        fail("no room named %s in %s" % (name, a.state))
    return rid


async def cmd_room(c, a):
    initial = []
    if a.encrypted or a.rotation_msgs is not None or a.rotation_ms is not None:
        enc = {"algorithm": "m.megolm.v1.aes-sha2"}
        # The sender's Megolm session lasts this many messages / ms (spec).
        if a.rotation_msgs is not None:
            enc["rotation_period_msgs"] = a.rotation_msgs
        if a.rotation_ms is not None:
            enc["rotation_period_ms"] = a.rotation_ms
        initial.append({"type": "m.room.encryption", "state_key": "", "content": enc})
    r = await c.room_create(
        visibility=RoomVisibility.private, name=None if a.direct else a.name,
        is_direct=a.direct, invite=a.invite or [], initial_state=initial,
        preset=RoomPreset.trusted_private_chat if a.direct else RoomPreset.public_chat)
    if not isinstance(r, RoomCreateResponse):
        fail("room_create: %s" % r)
    State(a.state).update(lambda d: d["rooms"].__setitem__(a.name, r.room_id))
    print(r.room_id)


async def cmd_join(c, a):
    rid = room_id(a, a.name)
    r = await c.join(rid)
    if not hasattr(r, "room_id"):
        fail("join %s: %s" % (a.name, r))


async def cmd_not_joined(c, a):
    rid = room_id(a, a.name)
    await asyncio.sleep(a.wait)
    r = await c.joined_members(rid)
    if not isinstance(r, JoinedMembersResponse):
        fail("joined_members: %s" % r)
    if any(m.user_id == a.user_id for m in r.members):
        fail("%s joined %s though it should not have" % (a.user_id, a.name))


async def cmd_edit(c, a):
    """Edits (m.replace) every question of TAG; the edits are recorded
    under TAG-edit so that expect-none can check they get no answer."""
    rid = room_id(a, a.name)
    out = []
    for q in tag_questions(a, rid):
        text = q["text"] + " (modifié)"
        content = {"msgtype": "m.text", "body": "* " + text,
                   "m.new_content": {"msgtype": "m.text", "body": text},
                   "m.relates_to": {"rel_type": "m.replace", "event_id": q["id"]}}
        out.append({"id": await send(c, rid, content, a.e2ee), "text": content["body"],
                    "thread": None, "sender": c.user_id, "room": rid, "sent": time.time()})
    State(a.state).update(lambda d: d["questions"].setdefault(a.tag + "-edit", []).extend(out))


async def cmd_wait_join(c, a):
    rid = room_id(a, a.name)
    end = time.monotonic() + a.timeout
    while time.monotonic() < end:
        r = await c.joined_members(rid)
        if isinstance(r, JoinedMembersResponse) and any(m.user_id == a.user_id for m in r.members):
            return
        await asyncio.sleep(0.1)
    fail("%s did not join %s within %ss" % (a.user_id, a.name, a.timeout))


def question_content(a, i, thread_root):
    text = a.text.replace("{i}", str(i))
    if a.prefix:
        text = a.prefix + text
    content = {"msgtype": a.msgtype, "body": text}
    if a.html:
        # The user's own HTML: the bot must never echo it unescaped.
        content["format"] = "org.matrix.custom.html"
        content["formatted_body"] = text
    if a.mention:
        content["m.mentions"] = {"user_ids": [a.mention]}
    if thread_root:
        content["m.relates_to"] = {"rel_type": "m.thread", "event_id": thread_root,
                                   "is_falling_back": True,
                                   "m.in_reply_to": {"event_id": thread_root}}
    elif getattr(a, "reply_event", None):
        # A plain reply, as Element sends it now: no fallback, no mention.
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": a.reply_event}}
    return content


async def send(c, rid, content, e2ee):
    for attempt in range(20):
        r = await c.room_send(rid, "m.room.message", content, ignore_unverified_devices=True)
        if isinstance(r, RoomSendResponse):
            return r.event_id
        if getattr(r, "status_code", "") == "M_LIMIT_EXCEEDED":
            await asyncio.sleep((getattr(r, "retry_after_ms", None) or 500) / 1000)
            continue
        fail("send: %s" % r)
    fail("send: rate limited 20 times")


async def cmd_ask(c, a):
    rid = room_id(a, a.name)
    thread_root = None
    if a.thread:
        # A thread needs a root: a plain message nobody addresses to the bot.
        thread_root = await send(c, rid, {"msgtype": "m.text", "body": "fil de discussion %s" % a.tag}, a.e2ee)
    elif getattr(a, "thread_of", None):
        # A thread on an earlier question (tag): its first message is the root.
        thread_root = State(a.state).read()["questions"][a.thread_of][0]["id"]
    a.reply_event = None
    if getattr(a, "reply_question", None):
        a.reply_event = State(a.state).read()["questions"][a.reply_question][0]["id"]
    elif getattr(a, "reply_answer", None):
        # Reply to the answer someone else (the bot) gave to that question.
        qid = State(a.state).read()["questions"][a.reply_answer][0]["id"]
        end = time.monotonic() + 20
        while not a.reply_event and time.monotonic() < end:
            await sync(c, 500)
            for ev in await room_events(c, rid):
                rel = ev.source.get("content", {}).get("m.relates_to") or {}
                if ev.sender != c.user_id and (rel.get("m.in_reply_to") or {}).get("event_id") == qid:
                    a.reply_event = ev.event_id
        if not a.reply_event:
            fail("no answer to %s to reply to" % a.reply_answer)
    sem = asyncio.Semaphore(a.concurrency)
    out = [None] * a.count

    async def one(i):
        content = question_content(a, i, thread_root)
        if a.interval:
            await asyncio.sleep(a.interval * i)
        async with sem:
            t = time.time()
            out[i] = {"id": await send(c, rid, content, a.e2ee), "text": content["body"],
                      "thread": thread_root, "sender": c.user_id, "room": rid, "sent": t}

    if a.e2ee:
        for i in range(a.count):  # nio shares the group session once, in order
            await one(i)
    else:
        await asyncio.gather(*(one(i) for i in range(a.count)))
    State(a.state).update(lambda d: d["questions"].setdefault(a.tag, []).extend(out))
    if a.cmd == "ask":
        print("asked %d in %s" % (a.count, a.name))


async def room_events(c, rid):
    """The room's whole history, oldest first, through /messages (not the
    sync timeline: its gaps are what the bots are tested for, not us)."""
    events, token = [], c.next_batch
    for _ in range(200):
        r = await c.room_messages(rid, start=token, direction=MessageDirection.back, limit=500)
        if not isinstance(r, RoomMessagesResponse):
            fail("messages: %s" % r)
        events.extend(r.chunk)
        if not r.chunk or not r.end or r.end == token:
            break
        token = r.end
    events.reverse()
    return events


class TagCheck(html.parser.HTMLParser):
    """Collects what a formatted_body holds that HTML from a user would."""
    BAD_TAGS = {"script", "img", "iframe", "object", "embed", "style", "svg", "form", "input", "marquee"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.bad = []

    def handle_starttag(self, tag, attrs):
        if tag in self.BAD_TAGS:
            self.bad.append("<%s>" % tag)
        for k, v in attrs:
            if k.startswith("on") or (v or "").strip().lower().startswith("javascript:"):
                self.bad.append("%s=%s" % (k, v))


def check_reply(q, ev, problems):
    src = ev.source
    c = src.get("content", {})
    where = "reply %s to %s" % (src.get("event_id"), q["id"])
    if src.get("type") != "m.room.message" or c.get("msgtype") != "m.notice":
        problems.append("%s: type %s msgtype %s, want m.room.message m.notice" % (where, src.get("type"), c.get("msgtype")))
    rel = c.get("m.relates_to") or {}
    if (rel.get("m.in_reply_to") or {}).get("event_id") != q["id"]:
        problems.append("%s: m.in_reply_to is %s" % (where, rel.get("m.in_reply_to")))
    if q.get("thread"):
        if rel.get("rel_type") != "m.thread" or rel.get("event_id") != q["thread"]:
            problems.append("%s: not in thread %s: %s" % (where, q["thread"], rel))
    elif rel.get("rel_type") == "m.thread":
        problems.append("%s: in a thread the question was not in" % where)
    if q["sender"] not in ((c.get("m.mentions") or {}).get("user_ids") or []):
        problems.append("%s: m.mentions %s lacks %s" % (where, c.get("m.mentions"), q["sender"]))
    body = c.get("body")
    if not isinstance(body, str) or not body.strip():
        problems.append("%s: empty body" % where)
    else:
        for tag in ("<p>", "<br", "<b>", "<strong>", "<a href", "<mx-reply>", "<blockquote>"):
            if tag in body and tag not in q["text"]:
                problems.append("%s: body holds HTML %s" % (where, tag))
    fb = c.get("formatted_body")
    if c.get("format") != "org.matrix.custom.html" or not isinstance(fb, str) or not fb.strip():
        problems.append("%s: no HTML formatted_body (format %s)" % (where, c.get("format")))
    else:
        p = TagCheck()
        p.feed(fb)
        p.close()
        if p.bad:
            problems.append("%s: formatted_body holds unescaped user HTML %s" % (where, p.bad))
        for frag in ("<script", "<img", "<iframe"):
            if frag in q["text"] and frag in fb:
                problems.append("%s: formatted_body holds the user's %s unescaped" % (where, frag))


async def replies(c, rid, bot_id, qs):
    """Replies by bot_id to the questions qs: {qid: [events]}, plus events of
    the bot the client could not decrypt."""
    ids = {q["id"] for q in qs}
    got = {i: [] for i in ids}
    undecrypted = []
    for ev in await room_events(c, rid):
        if ev.sender != bot_id:
            continue
        if isinstance(ev, MegolmEvent):
            # The relation stays in the clear part of an encrypted reply:
            # an undecryptable reply to one of our questions is a failure,
            # one to an older question (before this device joined) is not.
            rel = ev.source.get("content", {}).get("m.relates_to") or {}
            qid = (rel.get("m.in_reply_to") or {}).get("event_id")
            if qid in got or not qid:
                undecrypted.append(ev.event_id)
            continue
        rel = ev.source.get("content", {}).get("m.relates_to") or {}
        qid = (rel.get("m.in_reply_to") or {}).get("event_id")
        if qid in got:
            got[qid].append(ev)
    return got, undecrypted


async def raw_bot_events(c, rid, bot_id):
    """The bot's events in the room as the server holds them (no client-side
    decryption): {event_id: raw event}."""
    out, frm = {}, ""
    for _ in range(50):
        path = "/_matrix/client/v3/rooms/%s/messages?dir=b&limit=500%s" % (
            urllib.parse.quote(rid), "&from=" + urllib.parse.quote(frm) if frm else "")
        resp = await c.send("GET", path, headers={"Authorization": "Bearer " + c.access_token})
        data = await resp.json()
        if resp.status != 200:
            fail("raw messages: %s %s" % (resp.status, data))
        for ev in data.get("chunk", []):
            if ev.get("sender") == bot_id:
                out[ev["event_id"]] = ev
        if not data.get("chunk") or not data.get("end"):
            break
        frm = data["end"]
    return out


def check_encrypted(raw, q, ev, problems):
    """Issue 5: a reply in an encrypted room is m.room.encrypted on the wire,
    Megolm, with its relation kept in the clear part."""
    r = raw.get(ev.event_id)
    where = "reply %s to %s" % (ev.event_id, q["id"])
    if not r or r.get("type") != "m.room.encrypted":
        problems.append("%s: sent in the clear (type %s) in an encrypted room" % (where, r and r.get("type")))
        return
    c = r.get("content", {})
    if c.get("algorithm") != "m.megolm.v1.aes-sha2":
        problems.append("%s: algorithm %s" % (where, c.get("algorithm")))
    rel = c.get("m.relates_to") or {}
    if (rel.get("m.in_reply_to") or {}).get("event_id") != q["id"]:
        problems.append("%s: relation not in the clear part: %s" % (where, rel))


def tag_questions(a, rid):
    allq = State(a.state).read()["questions"]
    qs = [q for t in a.tag.split(",") for q in allq.get(t, []) if q and q["room"] == rid]
    if not qs:
        fail("no questions tagged %s in %s" % (a.tag, a.name))
    return qs


async def cmd_expect(c, a):
    rid = room_id(a, a.name)
    qs = tag_questions(a, rid)
    end = time.monotonic() + a.timeout
    t0 = time.monotonic()
    while True:
        await sync(c, 500)
        got, undec = await replies(c, rid, a.bot_id, qs)
        missing = [i for i, v in got.items() if not v]
        if not missing or time.monotonic() > end:
            break
    took = time.monotonic() - t0
    if not missing and a.settle > 0:
        # A doubled answer may come after the first one: wait a little more.
        await asyncio.sleep(a.settle)
        await sync(c, 0)
        got, undec = await replies(c, rid, a.bot_id, qs)
    problems = []
    qmap = {q["id"]: q for q in qs}
    raw = await raw_bot_events(c, rid, a.bot_id) if a.encrypted else {}
    for qid, evs in got.items():
        for ev in evs:
            check_reply(qmap[qid], ev, problems)
            if a.body_has and a.body_has not in str(ev.source.get("content", {}).get("body")):
                problems.append("reply %s: body lacks %r: %r" % (ev.event_id, a.body_has,
                                                                  ev.source.get("content", {}).get("body")))
            if a.body_lacks and a.body_lacks in str(ev.source.get("content", {}).get("body")):
                problems.append("reply %s: body has %r: %r" % (ev.event_id, a.body_lacks,
                                                                ev.source.get("content", {}).get("body")))
            if a.encrypted:
                check_encrypted(raw, qmap[qid], ev, problems)
    doubled = {i: len(v) for i, v in got.items() if len(v) > 1}
    missing = [i for i, v in got.items() if not v]
    answered = len(qs) - len(missing)
    print("%s/%s: %d questions, %d answered, %d missing, %d doubled, %d undecryptable, %.1fs"
          % (a.name, a.tag, len(qs), answered, len(missing), len(doubled), len(undec), took))
    if missing:
        problems.append("%d of %d questions unanswered after %ss (first: %s)" % (len(missing), len(qs), a.timeout, missing[:3]))
    if doubled:
        problems.append("%d questions answered more than once: %s" % (len(doubled), list(doubled.items())[:3]))
    if undec and missing:
        problems.append("%d replies of the bot not decryptable: %s" % (len(undec), undec[:3]))
    if problems:
        for p in problems[:20]:
            print("client.py: " + p, file=sys.stderr)
        sys.exit(1)


async def cmd_expect_none(c, a):
    rid = room_id(a, a.name)
    qs = tag_questions(a, rid)
    await asyncio.sleep(a.wait)
    await sync(c, 0)
    got, _ = await replies(c, rid, a.bot_id, qs)
    answered = {i: len(v) for i, v in got.items() if v}
    print("%s/%s: %d messages, %d answered (want 0)" % (a.name, a.tag, len(qs), len(answered)))
    if answered:
        fail("the bot answered messages not addressed to it: %s" %
             [q["text"] for q in qs if q["id"] in answered][:3])


async def cmd_count(c, a):
    """Issue 10: the bot's replies to the messages of TAG, counted after
    --wait seconds, must be between --min and --max."""
    rid = room_id(a, a.name)
    qs = tag_questions(a, rid)
    end = time.monotonic() + a.wait
    while True:
        await sync(c, 500)
        if time.monotonic() > end:
            break
    got, _ = await replies(c, rid, a.bot_id, qs)
    n = sum(len(v) for v in got.values())
    print("%s/%s: %d messages, %d replies (want %d..%d)" % (a.name, a.tag, len(qs), n, a.min, a.max))
    if n < a.min or n > a.max:
        fail("%d replies to %d messages, want %d..%d" % (n, len(qs), a.min, a.max))


async def cmd_devices(c, a):
    """Prints how many devices a user has (admin API: run as an admin)."""
    path = "/_synapse/admin/v2/users/%s/devices" % a.user_id
    resp = await c.send("GET", path, headers={"Authorization": "Bearer " + c.access_token})
    data = await resp.json()
    if resp.status != 200:
        fail("devices: %s %s" % (resp.status, data))
    print(len(data.get("devices", [])))


async def cmd_ratelimit(c, a):
    """Per-user override of Synapse's message rate limit (admin API; 0 0 =
    unlimited): lets the asker flood while rc_message holds the bot back."""
    path = "/_synapse/admin/v1/users/%s/override_ratelimit" % a.user_id
    resp = await c.send("POST", path, json.dumps({"messages_per_second": a.per_second, "burst_count": a.burst}),
                        headers={"Authorization": "Bearer " + c.access_token, "Content-Type": "application/json"})
    if resp.status != 200:
        fail("override_ratelimit: %s %s" % (resp.status, await resp.text()))


async def cmd_latency(c, a):
    """One question at a time, the next once the reply is seen.  Prints
    JSON: "server", the question's origin_server_ts to the reply's (what
    the bot adds), and "client", sending to seeing the reply in /sync (what
    the asker sees), both in ms."""
    rid = room_id(a, a.name)
    server, client = [], []
    for i in range(a.count):
        content = question_content(a, i, None)
        t0 = time.monotonic()
        qid = await send(c, rid, content, a.e2ee)
        end = t0 + a.timeout
        qts = rts = None
        while rts is None and time.monotonic() < end:
            r = await sync(c, 1000)
            for ev in (r.rooms.join[rid].timeline.events if rid in r.rooms.join else []):
                rel = ev.source.get("content", {}).get("m.relates_to") or {}
                if ev.event_id == qid:
                    qts = ev.server_timestamp
                elif ev.sender == a.bot_id and (rel.get("m.in_reply_to") or {}).get("event_id") == qid:
                    rts = ev.server_timestamp
        if rts is None:
            fail("no reply to question %d within %ss" % (i, a.timeout))
        client.append((time.monotonic() - t0) * 1000)
        if qts is not None:
            server.append(rts - qts)
    print(json.dumps({"server": server, "client": client}))


async def cmd_burst(c, a):
    """Sends COUNT questions at once, waits for the replies (up to TIMEOUT),
    prints JSON: n, answered, doubled, answers_per_s and the latencies
    (ms, server timestamps: question's origin_server_ts to the reply's)."""
    a.tag = "burst-%d" % time.time_ns()
    await cmd_ask(c, a)
    rid = room_id(a, a.name)
    qs = tag_questions(a, rid)
    end = time.monotonic() + a.timeout
    while True:
        await sync(c, 500)
        got, _ = await replies(c, rid, a.bot_id, qs)
        if all(got.values()) or time.monotonic() > end:
            break
    await asyncio.sleep(1)
    got, _ = await replies(c, rid, a.bot_id, qs)
    qts = {}
    for ev in await room_events(c, rid):
        if ev.event_id in got:
            qts[ev.event_id] = ev.server_timestamp
    lat, last = [], 0
    for qid, evs in got.items():
        if evs:
            lat.append(evs[0].server_timestamp - qts[qid])
            last = max(last, evs[0].server_timestamp)
    first = min(qts.values())
    span = max(last - first, 1) / 1000
    print(json.dumps({"n": len(qs), "answered": len(lat), "doubled": sum(len(v) > 1 for v in got.values()),
                      "answers_per_s": len(lat) / span if lat else 0, "lat": sorted(lat)}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-s", "--state", required=True)
    ap.add_argument("-H", "--hs", required=True)
    ap.add_argument("-u", "--user", required=True)
    ap.add_argument("-p", "--password", required=True)
    ap.add_argument("--e2ee", action="store_true")
    ap.add_argument("--device", default="main")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("room")
    p.add_argument("name")
    p.add_argument("--direct", action="store_true")
    p.add_argument("--encrypted", action="store_true")
    p.add_argument("--rotation-msgs", type=int, help="rotation_period_msgs (implies --encrypted)")
    p.add_argument("--rotation-ms", type=int, help="rotation_period_ms (implies --encrypted)")
    p.add_argument("--invite", action="append")
    p = sub.add_parser("join")
    p.add_argument("name")
    p = sub.add_parser("devices")
    p.add_argument("user_id")
    p = sub.add_parser("ratelimit")
    p.add_argument("user_id")
    p.add_argument("per_second", type=int)
    p.add_argument("burst", type=int)
    p = sub.add_parser("not-joined")
    p.add_argument("name")
    p.add_argument("user_id")
    p.add_argument("--wait", type=float, default=3)
    p = sub.add_parser("edit")
    p.add_argument("name")
    p.add_argument("tag")
    p = sub.add_parser("wait-join")
    p.add_argument("name")
    p.add_argument("user_id")
    p.add_argument("--timeout", type=float, default=20)
    for n in ("ask", "latency", "burst"):
        p = sub.add_parser(n)
        p.add_argument("name")
        if n == "ask":
            p.add_argument("tag")
        else:
            p.add_argument("bot_id")
            p.add_argument("--timeout", type=float, default=30)
            p.set_defaults(tag=None)
        p.add_argument("--count", type=int, default=1)
        p.add_argument("--text", default=DEFAULT_Q)
        p.add_argument("--prefix", default="")
        p.add_argument("--mention")
        p.add_argument("--thread", action="store_true")
        p.add_argument("--thread-of", help="ask in a thread rooted at this tag's first question")
        p.add_argument("--reply-answer", help="reply to the answer given to this tag's first question")
        p.add_argument("--reply-question", help="reply to this tag's first question")
        p.add_argument("--html", action="store_true")
        p.add_argument("--msgtype", default="m.text")
        p.add_argument("--concurrency", type=int, default=100)
        p.add_argument("--interval", type=float, default=0,
                       help="question i leaves i*interval s after the first")
    p = sub.add_parser("expect")
    p.add_argument("name")
    p.add_argument("tag")
    p.add_argument("bot_id")
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--settle", type=float, default=2)
    p.add_argument("--body-has", help="every reply's body must contain this")
    p.add_argument("--body-lacks", help="no reply's body may contain this")
    p.add_argument("--encrypted", action="store_true",
                   help="also check each reply was Megolm-encrypted, relation in the clear")
    p = sub.add_parser("count")
    p.add_argument("name")
    p.add_argument("tag")
    p.add_argument("bot_id")
    p.add_argument("--wait", type=float, default=3)
    p.add_argument("--min", type=int, default=0)
    p.add_argument("--max", type=int, required=True)
    p = sub.add_parser("expect-none")
    p.add_argument("name")
    p.add_argument("tag")
    p.add_argument("bot_id")
    p.add_argument("--wait", type=float, default=3)
    a = ap.parse_args()
    if a.cmd == "latency":
        a.thread = False

    async def run():
        c = await connect(a)
        try:
            await globals()["cmd_" + a.cmd.replace("-", "_")](c, a)
        finally:
            await c.close()
    asyncio.run(run())


if __name__ == "__main__":
    main()
