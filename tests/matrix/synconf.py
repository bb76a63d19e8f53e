#!/usr/bin/python3
"""synconf.py - Synapse test configuration and user registration.

  synconf.py keys DIR                       signing key + shared secret in DIR
  synconf.py config DIR PORT [RC_PS RC_BURST]   homeserver.yaml for DIR
  synconf.py register URL SECRET NAME PASSWORD [admin]

Paths in the config are as the chrooted Synapse sees them (/srv/synapse is
DIR bind-mounted).  Registration uses the shared-secret admin API, as
register_new_matrix_user does, from the host's python.  Not here: starting
Synapse (synapse.sh) or any client logic (client.py).
"""
import base64
import hashlib
import hmac
import json
import os
import secrets
import sys
import urllib.request

IN = "/srv/synapse"

# Every rate limit high unless the test asks for a low rc_message: the bot's
# own throttling is tested only where a test sets it low on purpose.
HIGH = "{per_second: 100000, burst_count: 1000000}"

CONFIG = """\
server_name: "localhost"
public_baseurl: "http://127.0.0.1:{port}/"
pid_file: {d}/homeserver.pid
listeners:
  - port: {port}
    tls: false
    type: http
    x_forwarded: false
    bind_addresses: ['127.0.0.1']
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: {d}/homeserver.db
log_config: {d}/log.yaml
media_store_path: {d}/media_store
registration_shared_secret: "{secret}"
macaroon_secret_key: "{macaroon}"
form_secret: "{form}"
signing_key_path: {d}/signing.key
report_stats: false
enable_registration: false
trusted_key_servers: []
suppress_key_server_warning: true
presence:
  enabled: false
url_preview_enabled: false
enable_metrics: false
federation_domain_whitelist: []
rc_message: {{per_second: {rc_ps}, burst_count: {rc_burst}}}
rc_registration: {high}
rc_registration_token_validity: {high}
rc_login:
  address: {high}
  account: {high}
  failed_attempts: {high}
rc_admin_redaction: {high}
rc_joins:
  local: {high}
  remote: {high}
rc_joins_per_room: {high}
rc_3pid_validation: {high}
rc_invites:
  per_room: {high}
  per_user: {high}
  per_issuer: {high}
rc_third_party_invite: {high}
rc_media_create: {high}
rc_presence:
  per_user: {high}
rc_delayed_event_mgmt: {high}
rc_room_creation: {high}
rc_reports: {high}
"""

LOG = """\
version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s'
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: {d}/homeserver.log
    encoding: utf8
root:
  level: {level}
  handlers: [file]
disable_existing_loggers: false
"""


def keys(d):
    os.makedirs(d, exist_ok=True)
    seed = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    with open(os.path.join(d, "signing.key"), "w") as f:
        f.write("ed25519 a_test %s\n" % seed)
    with open(os.path.join(d, "shared_secret"), "w") as f:
        f.write(secrets.token_hex(16))
    os.makedirs(os.path.join(d, "media_store"), exist_ok=True)


def config(d, port, rc_ps="10000", rc_burst="100000"):
    with open(os.path.join(d, "shared_secret")) as f:
        secret = f.read().strip()
    with open(os.path.join(d, "homeserver.yaml"), "w") as f:
        f.write(CONFIG.format(port=port, d=IN, secret=secret, high=HIGH,
                              macaroon=secrets.token_hex(16), form=secrets.token_hex(16),
                              rc_ps=rc_ps, rc_burst=rc_burst))
    with open(os.path.join(d, "log.yaml"), "w") as f:
        f.write(LOG.format(d=IN, level=os.environ.get("SYN_LOG_LEVEL", "INFO")))


def register(url, secret, name, password, admin=""):
    with urllib.request.urlopen(url + "/_synapse/admin/v1/register", timeout=30) as r:
        nonce = json.load(r)["nonce"]
    is_admin = admin == "admin"
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
    mac.update(b"\x00".join([nonce.encode(), name.encode(), password.encode(),
                             b"admin" if is_admin else b"notadmin"]))
    body = json.dumps({"nonce": nonce, "username": name, "password": password,
                       "admin": is_admin, "mac": mac.hexdigest()}).encode()
    req = urllib.request.Request(url + "/_synapse/admin/v1/register", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        print(json.load(r)["user_id"])


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"keys": keys, "config": config, "register": register}[cmd](*args)
