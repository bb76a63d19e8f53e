#!/usr/bin/python3
# Verifies with python3-signedjson the signature that SIGNER made with the
# ed25519 key KEY_ID (base64 public key PUBKEY) on the JSON object in FILE.
# Exit 0 and "ok" when it verifies, 1 with the reason otherwise.
# usage: verify_signed.py FILE SIGNER KEY_ID PUBKEY
import json, sys
from signedjson.key import decode_verify_key_bytes
from signedjson.sign import verify_signed_json, SignatureVerifyException
from unpaddedbase64 import decode_base64

path, signer, key_id, pub = sys.argv[1:5]
with open(path, "rb") as f:
    obj = json.loads(f.read())
vk = decode_verify_key_bytes(key_id, decode_base64(pub))
try:
    verify_signed_json(obj, signer, vk)
except SignatureVerifyException as e:
    print("bad:", e)
    sys.exit(1)
print("ok")
