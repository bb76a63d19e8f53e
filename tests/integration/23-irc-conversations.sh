#!/usr/bin/env bash
# 23-irc-conversations: conversations on a real IRC server (ngircd).  In one
# channel two askers interleave their dialogues: each follow-up is completed
# from its own asker's question, never the other's; a bare date just after
# the bot asked for it is answered unaddressed, from that asker only, and a
# bare date from someone who was asked nothing gets no answer; then a
# private dialogue.  What the bot should say comes from
# `faqbot console --json` fed the same asker's turns (same knowledge, same
# day), whose followup flag and slots are checked too.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/irc/servers.sh"
need_debs ngircd python3

ngircd_start ng
log "ngircd on $ng_PORT"
export IRC_PORT=$ng_PORT FAQBOT WORK BOT_NICK=faqbot

cat >"$WORK/bot.ini" <<INI
[bot]
knowledge = $ROOT/knowledge
state = $WORK/faqbot.db
conversation_timeout = 600

[irc.local]
server = 127.0.0.1
port = $ng_PORT
tls = no
nick = $BOT_NICK
channels = #faq
user_rate = 0
INI
bot_start "$WORK/bot.ini"

$PY - "$ROOT" <<'PYEOF' || { tail -n 30 "$BOT_LOG" | sed 's/^/bot | /' >&2; die "conversation checks"; }
import json, os, subprocess, sys, time
ROOT = sys.argv[1]
sys.path.insert(0, os.path.join(ROOT, "tests/irc"))
from scenario import (Fail, Timeout, bot_says, check, clients, log, ok, squash,
                      strip_nick, wait_bot_in, nothing_from_bot, CHECKS)
ENV = os.environ
bot = ENV["BOT_NICK"]
chan = "#faq"

def console(turns):
    """The console's answers to one asker's turns, as JSON objects."""
    r = subprocess.run([ENV["FAQBOT"], "console", "--json"], input="\n".join(turns) + "\n",
                       capture_output=True, text=True, timeout=30, env=dict(ENV, TZ="Europe/Paris"))
    if r.returncode != 0:
        raise Fail("console --json: exit %d: %s" % (r.returncode, r.stderr[-300:]))
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]

def await_text(name, c, target, asker, want, since, timeout=15, prefixed=True):
    w = squash(want)
    end = time.monotonic() + timeout
    while True:
        lines = bot_says(c, bot, target, since)
        got = squash("".join(strip_nick(m.text, asker) if prefixed else m.text for m in lines))
        if len(got) >= len(w) or time.monotonic() > end:
            break
        time.sleep(0.05)
    check(name, got == w, "expected (spaces ignored)\n    %r\n  got\n    %r" % (want, got))

try:
    alice, bob, carol, watcher, dave = clients([(n, {}) for n in
                                                ("alice", "bob", "carol", "watcher", "dave")])
    for c in (alice, bob, carol, watcher):
        c.join(chan)
    wait_bot_in(watcher, chan, bot)

    A = ["quand sera visible ma session dans kairos ?", "validée le 12 novembre", "et sur RCO ?"]
    B = ["ma session validée hier, quand sera-t-elle sur RCO ?", "et sur aude ?",
         "et si elle avait été validée vendredi ?"]
    ea, eb = console(A), console(B)
    check("console: alice's date completes her Kairos question",
          ea[1]["followup"] and ea[1]["slots"]["platform"] == "kairos" and ea[1]["slots"]["validation_date"])
    check("console: bob's platform switch keeps his date",
          eb[1]["followup"] and eb[1]["slots"]["platform"] == "aude"
          and eb[1]["slots"]["validation_date"] == eb[0]["slots"]["validation_date"])

    # interleaved: alice, bob, alice (bare date, unaddressed), bob, alice, bob
    s = watcher.mark(); alice.privmsg(chan, "%s: %s" % (bot, A[0]))
    await_text("alice's question", watcher, chan, "alice", ea[0]["answer"], s)
    s = watcher.mark(); bob.privmsg(chan, "%s: %s" % (bot, B[0]))
    await_text("bob's question", watcher, chan, "bob", eb[0]["answer"], s)
    # carol was asked nothing: her bare date is chatter
    s = watcher.mark(); carol.privmsg(chan, "validée hier")
    # alice's bare date, unaddressed, within two minutes of the bot's ask
    alice.privmsg(chan, A[1])
    await_text("alice's bare date answers the bot's ask (unaddressed)", watcher, chan, "alice",
               ea[1]["answer"], s)
    nothing_from_bot("carol's bare date, with no ask pending, gets no answer", watcher, bot, chan, s, "carol")
    s = watcher.mark(); bob.privmsg(chan, "%s: %s" % (bot, B[1]))
    await_text("bob's 'et sur aude ?' keeps bob's date, not alice's", watcher, chan, "bob", eb[1]["answer"], s)
    s = watcher.mark(); alice.privmsg(chan, "%s, %s" % (bot, A[2]))
    await_text("alice's 'et sur RCO ?' keeps alice's date, not bob's", watcher, chan, "alice", ea[2]["answer"], s)
    s = watcher.mark(); bob.privmsg(chan, "%s: %s" % (bot, B[2]))
    await_text("bob's new date keeps bob's platform (Aude)", watcher, chan, "bob", eb[2]["answer"], s)
    # a follow-up must still be addressed in a channel
    s = watcher.mark(); alice.privmsg(chan, "et sur aude ?")
    time.sleep(1.5)
    nothing_from_bot("an unaddressed 'et sur aude ?' gets no answer in a channel", watcher, bot, chan, s, "alice")

    # a private dialogue
    D = ["quand sera visible ma session ?", "mardi", "et pour le site régional ?", "et pour le financement ?"]
    ed = console(D)
    check("console: the private dialogue is completed",
          [t["followup"] for t in ed] == [False, True, True, False]
          and ed[2]["slots"]["platform"] == "regional" and ed[3]["intent"] == "out_of_scope")
    for i, t in enumerate(D):
        s = dave.mark(); dave.privmsg(bot, t)
        await_text("private turn %d %r" % (i + 1, t), dave, "dave", "dave", ed[i]["answer"], s,
                   prefixed=False)
except (Fail, Timeout) as e:
    log("FAIL %s" % e)
    sys.exit(1)
log("23-irc-conversations: all checks passed")
PYEOF
check "the bot is still running" kill -0 "$BOT_PID"
if grep -nE 'AddressSanitizer|runtime error|Segmentation' "$BOT_LOG"; then die "sanitizer or crash report in the bot log"; fi
log "23-irc-conversations: all checks passed"
