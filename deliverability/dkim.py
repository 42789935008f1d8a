"""DKIM: verify every DKIM-Signature of a message with dkimpy, through Maildog's resolver.

Each signature gets a result as a receiver reports it (RFC 8601): pass, fail,
neutral (a signature too broken to evaluate counts as permerror here, which
is clearer), temperror or permerror, with the reason. A failure says whether
the body or the signed headers changed.

Only dkimpy's public API is used: `DKIM(message, logger=, minkey=)`,
`DKIM.verify(idx, dnsfunc)` and the attributes it documents on the object
after a verification (`signature_fields`, `keysize`, `ktag`). The key lookup
(`dnsfunc`) and the logger record what its True/False does not say: a missing
key, an unusable key, a DNS timeout or a signature that does not match.
"""

import re

import dkim as dkimpy

from .dns import DNSTemporaryError, get_resolver, txt_records

# Keys shorter than this fail, as at Gmail and most receivers (RFC 8301).
MIN_RSA_KEY_BITS = 1024

HEADER_END = re.compile(rb"\r?\n\r?\n")
SIGNATURE_HEADER = re.compile(rb"^dkim-signature[ \t]*:", re.IGNORECASE | re.MULTILINE)


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")


class _KeyLookup:
    """dkimpy's `dnsfunc`: the key record at a name, through our resolver, remembering what happened."""

    def __init__(self, resolver):
        self.resolver = resolver
        self.name = ""
        self.outcome = "not looked up"  # then "timeout", "missing" or "found"
        self.error = ""

    def __call__(self, name, timeout=5):
        self.name = _text(name).rstrip(".")
        try:
            records = txt_records(self.resolver, self.name)
        except DNSTemporaryError as error:
            self.outcome, self.error = "timeout", str(error)
            raise dkimpy.DnsTimeoutError(str(error)) from error
        if not records:
            self.outcome = "missing"
            return None
        self.outcome = "found"
        # Several TXT records at a selector: use the key record among them.
        keys = [record for record in records if b"p=" in record]
        return (keys or records)[0]


class _Problems:
    """The `logger` dkimpy reports to: keeps its error messages (why a key was unusable)."""

    def __init__(self):
        self.errors: list[str] = []

    def error(self, message, *args, **kwargs):
        self.errors.append(str(message) % args if args else str(message))

    def debug(self, *args, **kwargs):
        """dkimpy's debug and info output is not needed."""

    info = warning = debug


def _signature_facts(sig: dict) -> dict:
    algorithm = _text(sig.get(b"a"))
    return {
        "domain": _text(sig.get(b"d")).lower(),
        "selector": _text(sig.get(b"s")),
        "algorithm": algorithm,
        "canonicalization": _text(sig.get(b"c", b"simple/simple")),
        "identity": _text(sig.get(b"i")),
        "headers_signed": [h.strip().lower() for h in _text(sig.get(b"h")).split(":") if h.strip()],
        "body_length_limit": int(sig[b"l"]) if sig.get(b"l", b"").isdigit() else None,
        # The first characters of b=, as receivers quote them in header.b.
        "b_prefix": "".join(_text(sig.get(b"b")).split())[:8],
    }


def _verify_one(raw: bytes, index: int, resolver) -> dict:
    """The result of the `index`-th DKIM-Signature, through dkimpy's `DKIM.verify()`."""
    problems = _Problems()
    lookup = _KeyLookup(resolver)
    verifier = None
    result = {
        "result": "permerror",
        "reason": "",
        "domain": "",
        "selector": "",
        "algorithm": "",
        "canonicalization": "",
        "identity": "",
        "headers_signed": [],
        "body_length_limit": None,
        "b_prefix": "",
        "key_bits": None,
        "key_type": "",
        "body_hash": "not checked",
    }
    try:
        verifier = dkimpy.DKIM(raw, logger=problems, minkey=MIN_RSA_KEY_BITS)
        valid, failure = verifier.verify(idx=index, dnsfunc=lookup), None
    except dkimpy.DKIMException as error:
        valid, failure = False, error
    # The signature's tags as dkimpy read them (absent when they could not be read).
    signature = getattr(verifier, "signature_fields", None)
    if signature:
        result.update(_signature_facts(signature))
    if lookup.outcome == "found" and getattr(verifier, "keysize", None):
        result["key_bits"] = verifier.keysize
        result["key_type"] = _text(getattr(verifier, "ktag", b""))
    key_name = lookup.name or f"{result['selector']}._domainkey.{result['domain']}"

    if isinstance(failure, dkimpy.ValidationError) and "body hash mismatch" in str(failure):
        result.update(result="fail", body_hash="fail", reason="the body changed after signing (body hash mismatch)")
    elif isinstance(failure, dkimpy.KeyFormatError):
        # Raised once the signature verified: the key is too small to count.
        result.update(result="fail", body_hash="pass", reason=str(failure))
    elif failure is not None and lookup.outcome == "not looked up":
        result["reason"] = f"the signature is malformed: {failure}"
    elif failure is not None:
        result["reason"] = str(failure)
    elif valid:
        result.update(result="pass", body_hash="pass", reason="signature verified")
    elif lookup.outcome == "timeout":
        result.update(result="temperror", reason=f"the key at {key_name} could not be looked up: {lookup.error}")
    elif lookup.outcome == "missing":
        result["reason"] = f"no key found for selector {result['selector']!r} at {key_name} (unknown selector)"
    elif problems.errors:
        result["reason"] = f"the key record at {key_name} is unusable: {problems.errors[-1]}"
    else:
        result.update(
            result="fail",
            body_hash="pass",
            reason="a signed header changed after signing (the body is intact; signed: "
            + ", ".join(result["headers_signed"])
            + ")",
        )
    return result


def signature_count(raw: bytes) -> int:
    """How many DKIM-Signature header fields the message has."""
    header = HEADER_END.split(raw, 1)[0]
    return len(SIGNATURE_HEADER.findall(header))


def check_dkim(raw: bytes, resolver=None) -> list[dict]:
    """One result per DKIM-Signature, in header order; an empty list when unsigned."""
    resolver = resolver or get_resolver()
    return [_verify_one(raw, index, resolver) for index in range(signature_count(raw))]
