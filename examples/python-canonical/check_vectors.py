#!/usr/bin/python3
"""Check caco_canonical.py against the site's own output.

    python3 check_vectors.py [vectors.json]   every vector; exit 1 on any mismatch
    python3 check_vectors.py --stdin          one JSON text a line in, one JSON line out:
                                              {"canonical": "..."} or {"error": "..."}

vectors.json is written by the site's canonicaliser (test/examples/python-canonical.test.ts,
CACO_WRITE_VECTORS=1); the signature vectors are checked when `cryptography` is importable.
"""

import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import caco_canonical as cc  # noqa: E402


def stdin_mode():
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        try:
            out = {"canonical": cc.canonicalize(cc.parse(line))}
        except (ValueError, TypeError, OverflowError) as err:
            out = {"error": str(err)}
        # ASCII only: a lone surrogate survives the pipe as an escape.
        sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


def have_cryptography():
    try:
        import cryptography.hazmat.primitives.asymmetric.ed25519  # noqa: F401
        return True
    except ImportError:
        return False


def verify(public_b64, message, sig_b64):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64)).verify(base64.b64decode(sig_b64), message)
        return True
    except InvalidSignature:
        return False


def check_file(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    failures = []
    for v in doc["vectors"]:
        try:
            got = cc.canonicalize(cc.parse(v["input"]))
        except (ValueError, TypeError, OverflowError) as err:
            got = "error: %s" % err
        if got != v["canonical"]:
            failures.append("%s: input %s\n  want %s\n  got  %s" % (v["name"], v["input"], v["canonical"], got))
    for v in doc.get("refused", []):
        try:
            got = cc.canonicalize(cc.parse(v["input"]))
            failures.append("%s: input %s should be refused, got %s" % (v["name"], v["input"], got))
        except (ValueError, TypeError, OverflowError):
            pass
    crypto = have_cryptography()
    for c in doc.get("commands", []):
        signed = cc.parse(c["signed"])
        got = cc.command_signing_bytes(signed).decode("utf-8")
        if got != c["signingBytes"]:
            failures.append("%s: signing bytes\n  want %s\n  got  %s" % (c["name"], c["signingBytes"], got))
        if crypto:
            unsigned = {k: v for k, v in signed.items() if k not in ("sig", "keyId")}
            mine = cc.sign_command(unsigned, signed["keyId"], c["seed"])
            if mine["sig"] != signed["sig"]:
                failures.append("%s: sign_command gave sig %s, the site %s" % (c["name"], mine["sig"], signed["sig"]))
    for e in doc.get("events", []):
        event = cc.parse(e["event"])
        if cc.event_hash(event) != event["hash"]:
            failures.append("%s: event_hash %s, stored hash %s" % (e["name"], cc.event_hash(event), event["hash"]))
        if event["sig"] == "":
            continue
        message, sig = cc.signed_message(event["hash"], event["sig"])
        if message.hex() != e["signedMessageHex"]:
            failures.append("%s: signed message %s, the site's %s" % (e["name"], message.hex(), e["signedMessageHex"]))
        if crypto and not verify(e["publicKey"], message, sig):
            failures.append("%s: the signature does not verify with %s" % (e["name"], e["publicKey"]))
    counts = (len(doc["vectors"]), len(doc.get("refused", [])), len(doc.get("commands", [])), len(doc.get("events", [])))
    if failures:
        sys.stderr.write("\n".join(failures) + "\n%d failure(s)\n" % len(failures))
        return 1
    print("ok: %d canonical, %d refused, %d command, %d event vectors%s" % (counts + ("" if crypto else " (signatures not checked: no `cryptography`)",)))
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--stdin"]:
        stdin_mode()
    else:
        here = os.path.dirname(os.path.abspath(__file__))
        sys.exit(check_file(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "vectors.json")))
