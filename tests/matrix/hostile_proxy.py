#!/usr/bin/python3
"""hostile_proxy.py - an HTTP proxy between a bot and Synapse that turns
chosen /sync responses hostile, to check that the bot logs, skips and
survives them.  Everything else passes through unchanged.

  hostile_proxy.py LISTEN_PORT UPSTREAM_URL

Control (on the same port):
  GET /_proxy/arm?plan=huge,malformed,types   the next /sync responses, in order
  GET /_proxy/stats                           JSON: served, pending, syncs
Hostile kinds:
  huge       a 256 MiB body announced by Content-Length
  huge_chunk a 256 MiB body, chunked, no length given in advance
  malformed  truncated JSON        garbage   bytes that are not UTF-8 or JSON
  deep       [[[[... 200000 levels  html      an HTML error page with status 200
  types      the real response with wrong JSON types injected into every
             joined room (events not objects, body not a string, ...)
  toplevel   JSON of the wrong shape: [], null, next_batch a number
  slow       the real response, sent one byte every 10 ms for 3 s, then cut
Not here: deciding what the bot should do; the test checks that.
"""
import http.client
import http.server
import json
import sys
import threading
import time
import urllib.parse

LOCK = threading.Lock()
PLAN = []
SERVED = []
SYNCS = [0]
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


def bad_events():
    return [
        1, None, "event", [],
        {"type": 5, "content": []},
        {"type": "m.room.message", "sender": None, "event_id": 7, "content": {"body": {}}},
        {"type": "m.room.message", "sender": "@x:localhost", "event_id": "$bad1:localhost",
         "origin_server_ts": "now", "content": {"msgtype": "m.text", "body": ["faqbot: quand ?"],
                                                "m.relates_to": "yes", "m.mentions": {"user_ids": "all"}}},
        {"type": "m.room.member", "state_key": 3, "content": {"membership": ["join"]}},
        {"type": "m.room.message", "sender": "@x:localhost", "event_id": "$bad2:localhost",
         "content": {"msgtype": "m.text", "body": "faqbot: \u0000 nul inside"}},
    ]


def make_types(real):
    try:
        d = json.loads(real)
    except ValueError:
        return real
    for rid, room in ((d.get("rooms") or {}).get("join") or {}).items():
        tl = room.setdefault("timeline", {})
        tl["events"] = bad_events() + list(tl.get("events") or [])
        tl["limited"] = "maybe"
        tl["prev_batch"] = 42
        room["state"] = {"events": "none"}
        room["unread_notifications"] = []
    d.setdefault("rooms", {})["invite"] = {"!weird:localhost": {"invite_state": {"events": [{"type": None}]}}}
    d["account_data"] = {"events": {"not": "a list"}}
    d["to_device"] = {"events": [{"type": 1, "content": None}]}
    d["device_one_time_keys_count"] = {"signed_curve25519": "lots"}
    return json.dumps(d).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body, ctype="application/json", length=True):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def control(self, path):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(path).query)
        with LOCK:
            if path.startswith("/_proxy/arm"):
                PLAN.extend(k for k in q.get("plan", [""])[0].split(",") if k)
            body = json.dumps({"served": SERVED, "pending": PLAN, "syncs": SYNCS[0]}).encode()
        self.reply(200, body)

    def upstream(self):
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n else None
        conn = http.client.HTTPConnection(UP.hostname, UP.port, timeout=120)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in HOP and k.lower() != "host"}
        conn.request(self.command, self.path, body=data, headers=hdrs)
        r = conn.getresponse()
        body = r.read()
        conn.close()
        return r.status, [(k, v) for k, v in r.getheaders() if k.lower() not in HOP], body

    def hostile(self, kind):
        big = 256 << 20
        pad = b"A" * (1 << 20)
        if kind == "huge":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(big + 30))
            self.end_headers()
            self.wfile.write(b'{"next_batch":"x","pad":"')
            for _ in range(256):
                self.wfile.write(pad)
            self.wfile.write(b'"}\n\n\n')
        elif kind == "huge_chunk":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"%x\r\n%s\r\n" % (25, b'{"next_batch":"x","pad":"'))
            for _ in range(256):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(pad), pad))
            self.wfile.write(b"2\r\n\"}\r\n0\r\n\r\n")
        elif kind == "malformed":
            self.reply(200, b'{"next_batch": "s72_1", "rooms": {"join": {"!a:localhost": {"timeline": {"events": [{"type": "m.room.mess')
        elif kind == "garbage":
            self.reply(200, bytes(range(256)) * 64)
        elif kind == "deep":
            self.reply(200, b"[" * 200000 + b"]" * 200000)
        elif kind == "html":
            self.reply(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        elif kind == "toplevel":
            self.reply(200, b'{"next_batch": 12345, "rooms": [], "to_device": "x"}')
        elif kind in ("types", "slow"):
            status, headers, body = self.upstream()
            if kind == "types":
                self.reply(status, make_types(body))
                return
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            end = time.monotonic() + 3
            for i in range(len(body)):
                if time.monotonic() > end:
                    break
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                time.sleep(0.01)
            self.close_connection = True
        else:
            self.reply(500, b'{"errcode": "M_UNKNOWN", "error": "unknown hostile kind"}')

    def handle_any(self):
        if self.path.startswith("/_proxy/"):
            return self.control(self.path)
        kind = None
        if "/sync" in self.path.split("?")[0]:
            with LOCK:
                SYNCS[0] += 1
                if PLAN:
                    kind = PLAN.pop(0)
                    SERVED.append(kind)
        try:
            if kind:
                sys.stderr.write("hostile_proxy: /sync -> %s\n" % kind)
                self.hostile(kind)
                return
            status, headers, body = self.upstream()
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The bot hung up, as it should on a body over its cap.
            self.close_connection = True
        except OSError as e:
            sys.stderr.write("hostile_proxy: upstream error %s\n" % e)
            self.close_connection = True
            try:
                self.reply(502, b'{"errcode": "M_UNKNOWN", "error": "proxy: upstream down"}')
            except OSError:
                pass

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


if __name__ == "__main__":
    UP = urllib.parse.urlparse(sys.argv[2])
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    srv.daemon_threads = True
    print("hostile_proxy: on %s -> %s" % (sys.argv[1], sys.argv[2]), flush=True)
    srv.serve_forever()
