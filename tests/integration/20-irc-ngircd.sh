#!/usr/bin/env bash
# IRC on ngircd (plain TCP): the bot joins, answers when addressed
# ("faqbot: ...", "faqbot, ...", "!delai ...") and in private, stays quiet
# otherwise (unless auto_answer is on for the channel), splits a long reply
# within 512 bytes on UTF-8 boundaries, keeps its per-user limit under a
# flood of 200 questions without being disconnected, and after the server
# is killed and restarted while another client holds its nick, comes back
# under an alternate nick, rejoins (with the channel key) and answers
# within its backoff bound.  The checks are in tests/irc/scenario.py.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/irc/servers.sh"
need_debs ngircd python3

ngircd_start ng
log "ngircd on $ng_PORT"

export IRC_PORT=$ng_PORT FAQBOT WORK
export BOT_NICK=faqbot ALT_NICKS="faqbot_, faqbot__" RECONNECT_MAX=3
export USER_RATE=6 USER_BURST=3
export LONG_CHAN="#longreplies-$(printf 'x%.0s' {1..36})"
export KEY_CHAN="#secret" CHAN_KEY=sekrit
export SERVER_CMD=$ng_CMD SERVER_PIDFILE=$ng_DIR/server.pid

# The keyed channel exists with its key before the bot joins.
$PY - <<PYEOF &
import sys, time
sys.path.insert(0, "$ROOT/tests/irc")
from ircclient import Client
c = Client("127.0.0.1", $ng_PORT, "keeper").connect(); c.register()
c.join("$KEY_CHAN"); c.send("MODE $KEY_CHAN +k $CHAN_KEY")
time.sleep(600)
PYEOF
track_pid $!

cat >"$WORK/bot.ini" <<INI
[bot]
knowledge = $ROOT/knowledge
state = $WORK/faqbot.db
command_prefix = !

[irc.local]
server = 127.0.0.1
port = $ng_PORT
tls = no
nick = $BOT_NICK
alt_nicks = $ALT_NICKS
channels = #faq, #auto, #flood, $LONG_CHAN, $KEY_CHAN $CHAN_KEY
auto_answer = #auto
user_rate = $USER_RATE
user_burst = $USER_BURST
throttle_burst = 4
throttle_rate = 2
reconnect_max = $RECONNECT_MAX
lag_timeout = 60
INI
bot_start "$WORK/bot.ini"

$PY "$ROOT/tests/irc/scenario.py" ngircd || { tail -n 30 "$BOT_LOG" | sed 's/^/bot | /' >&2; die "channel and private-message checks"; }
$PY "$ROOT/tests/irc/scenario.py" restart || { tail -n 30 "$BOT_LOG" | sed 's/^/bot | /' >&2; die "server restart and nick collision"; }
$PY "$ROOT/tests/irc/scenario.py" stages || { tail -n 30 "$BOT_LOG" | sed 's/^/bot | /' >&2; die "the longest answer arrives whole"; }
check "the bot is still running" kill -0 "$BOT_PID"
if grep -nE 'AddressSanitizer|runtime error|Segmentation' "$BOT_LOG"; then die "sanitizer or crash report in the bot log"; fi
log "20-irc-ngircd: all checks passed"
