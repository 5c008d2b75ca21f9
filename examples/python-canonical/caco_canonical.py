"""Canonical JSON (RFC 8785, JCS) and CACO's signing rules, in standard-library Python.

A CACO site signs and verifies over the UTF-8 bytes of the RFC 8785 canonical JSON of a
message (core/ledger/canonical-json.ts). ``json.dumps(sort_keys=True, ...)`` is not that:
it writes ``31.0`` where JCS writes ``31``, ``1e-07`` for ``1e-7``, ``1e+16`` for
``10000000000000000``, and sorts keys by code point where JCS sorts by UTF-16 code unit.
This module writes exactly the site's bytes; ``vectors.json`` beside it holds cases made by
the site's own encoder, and test/examples/python-canonical.test.ts checks this file against
it and against freshly generated random values.

    canonicalize(value) -> str        the canonical JSON text
    canonical_bytes(value) -> bytes   its UTF-8 bytes (what is signed or hashed)
    parse(text) -> value              JSON.parse's reading of numbers (see below)
    command_signing_bytes(cmd)        the bytes a command / gateway request is signed over
    sign_command(cmd, key_id, seed)   add keyId and sig (needs the `cryptography` package)
    event_hash(event)                 a stored event's `hash`, recomputed
    signed_message(hash_hex, sig)     what a ledger signature covers (plain or `mb1:` batch)
    utc_time(dt)                      a time the site accepts: 2026-12-03T03:31:00.000Z

Python 3.8 or later; nothing outside the standard library except `cryptography` for the
ed25519 signature itself (Python's standard library has no ed25519).
"""

import base64
import hashlib
import json
import math
import re

__all__ = [
    "canonicalize",
    "canonical_bytes",
    "parse",
    "command_signing_bytes",
    "sign_command",
    "event_hash",
    "signed_message",
    "utc_time",
    "MAX_SAFE_INTEGER",
]

#: Integers up to this magnitude are written as they are; beyond it a JSON number is an
#: IEEE 754 double to the site (JavaScript), and only an integer that is exactly a double
#: can be written without changing its value.
MAX_SAFE_INTEGER = 2**53


# --- numbers -------------------------------------------------------------------------------

def _number(x):
    """ECMAScript Number::toString(x) for a finite double (ECMA-262 §6.1.6.1.20)."""
    if math.isnan(x) or math.isinf(x):
        raise ValueError("canonical JSON has no NaN or Infinity (%r)" % x)
    if x == 0:
        return "0"  # -0 too
    sign = "-" if x < 0 else ""
    # repr() is the shortest digit string that reads back as the same double (David Gay's
    # algorithm, correctly rounded, nearest of the shortest): the digits ECMAScript asks
    # for. Only its layout differs, so take the digits and the exponent and lay them out again.
    r = repr(abs(x))
    mantissa, _, exp = r.partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = whole + frac
    # value = 0.<digits> × 10^n
    n = len(whole) + (int(exp) if exp else 0)
    stripped = digits.lstrip("0")
    n -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        exp_text = ("+" if e >= 0 else "-") + str(abs(e))
        out = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + exp_text
    return sign + out


def _integer(i):
    if -MAX_SAFE_INTEGER <= i <= MAX_SAFE_INTEGER:
        return str(i)
    f = float(i)  # OverflowError past the largest double
    if int(f) != i:
        raise ValueError(
            "integer %d is beyond 2**53 and not exactly a double: the site would read %s; "
            "send it as a string, or pass float(%d) if that is what you mean" % (i, _number(f), i)
        )
    return _number(f)


# --- strings -------------------------------------------------------------------------------

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# What JSON.stringify escapes: the quote, the backslash, controls, and lone surrogates
# (as \udxxx, lower case; Python strings hold them when parsed from "\ud800" escapes).
_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f\ud800-\udfff]')


def _escape(m):
    c = m.group(0)
    return _ESCAPES.get(c) or "\\u%04x" % ord(c)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _as_javascript(s):
    # A high and a low surrogate side by side are one character to JavaScript: join them as
    # JSON.parse would have (a str built by hand may hold them apart); lone ones stay.
    if _SURROGATE.search(s) is None:
        return s
    return s.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "surrogatepass")


def _string(s):
    return '"' + _NEEDS_ESCAPE.sub(_escape, _as_javascript(s)) + '"'


def _utf16_key(s):
    # Sorting by UTF-16 code units, as RFC 8785 §3.2.3 and JavaScript do: compare the
    # big-endian UTF-16 encodings byte by byte ("surrogatepass" keeps lone surrogates).
    return s.encode("utf-16-be", "surrogatepass")


# --- values --------------------------------------------------------------------------------

def _encode(v, out, depth):
    if depth > 500:
        raise ValueError("nested too deep for canonical JSON")
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, str):
        out.append(_string(v))
    elif isinstance(v, int):
        out.append(_integer(v))
    elif isinstance(v, float):
        out.append(_number(v))
    elif isinstance(v, dict):
        for key in v:
            if not isinstance(key, str):
                raise TypeError("object keys must be strings, got %r" % (key,))
        out.append("{")
        first = True
        for key in sorted(v, key=_utf16_key):
            if not first:
                out.append(",")
            first = False
            out.append(_string(key))
            out.append(":")
            _encode(v[key], out, depth + 1)
        out.append("}")
    elif isinstance(v, (list, tuple)):
        out.append("[")
        for i, item in enumerate(v):
            if i:
                out.append(",")
            _encode(item, out, depth + 1)
        out.append("]")
    else:
        raise TypeError("cannot encode %s as canonical JSON" % type(v).__name__)


def canonicalize(value):
    """The RFC 8785 canonical JSON text of a JSON value (dict, list, str, int, float, bool, None)."""
    out = []
    _encode(value, out, 0)
    return "".join(out)


def canonical_bytes(value):
    """The UTF-8 bytes of ``canonicalize(value)``: what is signed and hashed."""
    # Lone surrogates were escaped, so the text always encodes.
    return canonicalize(value).encode("utf-8")


def _parse_int(text):
    i = int(text)
    return i if -MAX_SAFE_INTEGER <= i <= MAX_SAFE_INTEGER else float(text)


def _parse_float(text):
    f = float(text)
    if math.isinf(f):
        raise ValueError("number %s is beyond the largest double" % text)
    return f


def _refuse_constant(name):
    raise ValueError("%s is not JSON" % name)


def parse(text):
    """Read JSON text as the site does (JSON.parse): an integer beyond 2**53 becomes the
    double JavaScript reads it as (so its canonical form is the site's), NaN and Infinity
    are refused. Use it for what you verify (events, replies): ``json.loads`` keeps big
    integers exact, which the site never sees."""
    return json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_refuse_constant)


# --- commands and gateway requests ---------------------------------------------------------

def command_signing_bytes(cmd):
    """The bytes a command envelope or a gateway request is signed over: the canonical JSON
    of the whole object without ``sig`` (``keyId`` included). Sign them with ed25519 (pure,
    no pre-hash) and put the 64-byte signature, base64 with padding, in ``sig``."""
    return canonical_bytes({k: v for k, v in cmd.items() if k != "sig"})


def sign_command(cmd, key_id, seed_b64):
    """A copy of ``cmd`` with ``keyId`` and ``sig`` (core/identity/command-signature.ts).
    ``seed_b64`` is the base64 32-byte ed25519 seed (a `caco keys new` key file's
    ``privateKey``). ``cmd["source"]`` must already be the key's party. Needs the
    ``cryptography`` package; without it, sign ``command_signing_bytes(...)`` yourself."""
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    except ImportError as err:  # pragma: no cover - depends on the machine
        raise RuntimeError(
            "sign_command needs the `cryptography` package (Debian: python3-cryptography); "
            "or sign command_signing_bytes(cmd) with any ed25519 library"
        ) from err
    out = {k: v for k, v in cmd.items() if k != "sig"}
    out["keyId"] = key_id
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed_b64, validate=True))
    out["sig"] = base64.b64encode(key.sign(command_signing_bytes(out))).decode("ascii")
    return out


# --- ledger events -------------------------------------------------------------------------

#: The fields of a stored event its hash covers (core/ledger/seal.ts, sealableOf).
SEALED_FIELDS = ("id", "type", "version", "stream", "revision", "time", "source",
                 "correlationId", "causationId", "data", "prevHash", "covers")


def event_hash(event):
    """SHA-256 (hex) of the canonical JSON of a stored event's sealed fields: everything but
    ``position``, ``hash`` and ``sig``. Equal to the event's ``hash`` when it is intact.
    Read the event with ``parse`` so its numbers are what the site hashed."""
    return hashlib.sha256(canonical_bytes({k: event[k] for k in SEALED_FIELDS if k in event})).hexdigest()


_BATCH_SIG = re.compile(r"^mb1:(0|[1-9]\d{0,3})/([1-9]\d{0,3}):((?:[A-Za-z0-9+/]{43}=)(?:,[A-Za-z0-9+/]{43}=)*)?:([A-Za-z0-9+/]{86}==)$", re.ASCII)


def _node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def signed_message(hash_hex, sig):
    """What a ledger event's ``sig`` is a signature over, as ``(message_bytes, signature_b64)``
    (core/ledger/batch-signature.ts, signedMessage):

    - ``''``: nothing; the event's commit's head signs for it (check the chain up to it);
    - a plain base64 signature: the 32 raw bytes of ``hash`` (hex-decoded), not the hex text;
    - ``mb1:<index>/<size>:<siblings>:<signature>``: SHA-256("caco-batch/1" 0x00 ‖ size as
      uint32 big-endian ‖ root), where root is the RFC 9162 Merkle root the hash and its
      siblings lead to (leaf = SHA-256(0x00 ‖ hash bytes), node = SHA-256(0x01 ‖ l ‖ r)).

    Verify the signature with the ed25519 key of the event's ``source`` in the site's ledger
    key directory. Raises ValueError for an unsigned event or a malformed batch signature."""
    if sig == "":
        raise ValueError("unsigned: the commit's signed head vouches for this event")
    if not sig.startswith("mb1:"):
        return bytes.fromhex(hash_hex), sig
    m = _BATCH_SIG.match(sig)
    if not m:
        raise ValueError("batch signature: not of the form mb1:<index>/<size>:<siblings>:<signature>")
    index, size = int(m.group(1)), int(m.group(2))
    if size < 2 or size > 1024 or index >= size:
        raise ValueError("batch signature: index %d / size %d out of range" % (index, size))
    path = [base64.b64decode(p) for p in m.group(3).split(",")] if m.group(3) else []
    # RFC 9162 §2.1.3.2: the root from a leaf and its inclusion path.
    fn, sn = index, size - 1
    r = hashlib.sha256(b"\x00" + bytes.fromhex(hash_hex)).digest()
    for p in path:
        if sn == 0:
            raise ValueError("batch signature: the inclusion proof is too long")
        if fn % 2 == 1 or fn == sn:
            r = _node(p, r)
            while fn % 2 == 0 and fn != 0:
                fn //= 2
                sn //= 2
        else:
            r = _node(r, p)
        fn //= 2
        sn //= 2
    if sn != 0:
        raise ValueError("batch signature: the inclusion proof is too short")
    digest = hashlib.sha256(b"caco-batch/1\x00" + size.to_bytes(4, "big") + r).digest()
    return digest, m.group(4)


# --- time ----------------------------------------------------------------------------------

def utc_time(dt):
    """A timezone-aware datetime as the site's time format: UTC, ``Z``, milliseconds
    (``2026-12-03T03:31:00.000Z``). ``dt.isoformat()`` is refused by the site (``+00:00``,
    microseconds)."""
    if dt.tzinfo is None:
        raise ValueError("give a timezone-aware datetime (datetime.now(timezone.utc))")
    import datetime as _dt
    u = dt.astimezone(_dt.timezone.utc)
    return u.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (u.microsecond // 1000)
