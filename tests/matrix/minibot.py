#!/usr/bin/python3
"""minibot.py - the minimal matrix-nio bot a person would write in an
afternoon: the benchmark anchor for faqbot's Matrix client, and a second
bot to prove the tests can fail.  sync_forever + a message callback, auto-
join on invite, answers direct chats (two members) always and rooms when
mentioned, addressed by name or with the prefix "!faq".  The reply has the
same form as faqbot's (m.notice, reply relation, thread, m.mentions, escaped
HTML).  Like most such bots it ignores `limited` sync gaps and keeps no
state across restarts, on purpose: that is what is being compared.

  minibot.py HOMESERVER USER PASSWORD [--ask ./faqbot] [--e2ee STORE_DIR]
"""
import argparse
import asyncio
import html
import os
import subprocess
import sys
import time

from nio import AsyncClient, AsyncClientConfig, InviteMemberEvent, LoginResponse, MatrixRoom, RoomMessageText

FIXED = "Une session validée est visible sur le site régional le lendemain, et dans Kairos sous 2 à 7 jours ouvrés."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("homeserver")
    ap.add_argument("user")
    ap.add_argument("password")
    ap.add_argument("--ask", help="answer with `ASK ask QUESTION` (faqbot) instead of a fixed text")
    ap.add_argument("--e2ee", metavar="STORE_DIR", help="join encrypted rooms too (nio + olm), keys kept in STORE_DIR")
    a = ap.parse_args()
    asyncio.run(run(a))


async def run(a):
    if a.e2ee:
        os.makedirs(a.e2ee, exist_ok=True)
        c = AsyncClient(a.homeserver, "@%s:localhost" % a.user, store_path=a.e2ee,
                        config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True))
    else:
        c = AsyncClient(a.homeserver, "@%s:localhost" % a.user)
    r = await c.login(a.password, device_name="minibot")
    if not isinstance(r, LoginResponse):
        sys.exit("minibot: login failed: %s" % r)
    started = time.time() * 1000
    name = a.user.lower()

    def answer(text):
        if not a.ask:
            return FIXED
        out = subprocess.run([a.ask, "ask", text], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or FIXED

    async def on_invite(room: MatrixRoom, ev: InviteMemberEvent):
        if ev.state_key == c.user_id and ev.membership == "invite":
            await c.join(room.room_id)

    async def on_message(room: MatrixRoom, ev: RoomMessageText):
        if ev.sender == c.user_id or ev.server_timestamp < started:
            return
        content = ev.source.get("content", {})
        mentions = (content.get("m.mentions") or {}).get("user_ids") or []
        text = ev.body
        low = text.lower()
        direct = room.member_count <= 2
        if not (direct or c.user_id in mentions or low.startswith(name) or low.startswith("!faq")):
            return
        body = answer(text)
        rel = content.get("m.relates_to") or {}
        relates = {"m.in_reply_to": {"event_id": ev.event_id}}
        if rel.get("rel_type") == "m.thread":
            relates.update({"rel_type": "m.thread", "event_id": rel["event_id"], "is_falling_back": False})
        reply = {
            "msgtype": "m.notice", "body": body,
            "format": "org.matrix.custom.html",
            "formatted_body": "<p>%s</p>" % html.escape(body).replace("\n", "<br>"),
            "m.relates_to": relates,
            "m.mentions": {"user_ids": [ev.sender]},
        }
        await c.room_send(room.room_id, "m.room.message", reply, ignore_unverified_devices=True)

    c.add_event_callback(on_invite, InviteMemberEvent)
    c.add_event_callback(on_message, RoomMessageText)
    print("minibot: ready as %s (pid %d)" % (c.user_id, os.getpid()), flush=True)
    await c.sync_forever(timeout=30000, full_state=True)


if __name__ == "__main__":
    main()
