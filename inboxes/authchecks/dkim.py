"""DKIM: verify every DKIM-Signature of a message with dkimpy, through Maildog's resolver.

Each signature gets a result as a receiver reports it (RFC 8601): pass, fail,
neutral (a signature too broken to evaluate counts as permerror here, which
is clearer), temperror or permerror, with the reason. A failure says whether
the body or the signed headers changed.
"""

import dkim as dkimpy

from .dns import DNSTemporaryError, get_resolver, txt_records

# Keys shorter than this fail, as at Gmail and most receivers (RFC 8301).
MIN_RSA_KEY_BITS = 1024


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")


def _dnsfunc(resolver):
    """dkimpy's `dnsfunc`: the key record at a name, through our resolver."""

    def lookup(name, timeout=5):
        name = _text(name)
        try:
            records = txt_records(resolver, name)
        except DNSTemporaryError as error:
            raise dkimpy.DnsTimeoutError(str(error)) from error
        if not records:
            return None
        # Several TXT records at a selector: use the key record among them.
        keys = [record for record in records if b"p=" in record]
        return (keys or records)[0]

    return lookup


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


def _verify_one(raw: bytes, index: int, lookup) -> dict:
    verifier = dkimpy.DKIM(raw, minkey=MIN_RSA_KEY_BITS)
    result = {
        "result": "permerror", "reason": "", "domain": "", "selector": "", "algorithm": "",
        "canonicalization": "", "identity": "", "headers_signed": [], "body_length_limit": None,
        "b_prefix": "", "key_bits": None, "key_type": "", "body_hash": "not checked",
    }
    try:
        sig, include_headers, sig_headers = verifier.verify_headerprep(index)
    except dkimpy.DKIMException as error:
        # The tags could not be read: show whatever can be recovered.
        result["reason"] = f"the signature is malformed: {error}"
        return result
    result.update(_signature_facts(sig))
    key_name = f"{result['selector']}._domainkey.{result['domain']}"
    try:
        key_record = lookup(key_name)
    except dkimpy.DnsTimeoutError as error:
        result["result"] = "temperror"
        result["reason"] = f"the key at {key_name} could not be looked up: {error}"
        return result
    if key_record is None:
        result["reason"] = (
            f"no key found for selector {result['selector']!r} at {key_name} (unknown selector)"
        )
        return result
    try:
        verifier.pk, verifier.keysize, verifier.ktag, verifier.seqtlsrpt = dkimpy.evaluate_pk(
            key_name.encode(), key_record
        )
    except dkimpy.DKIMException as error:
        result["reason"] = f"the key record at {key_name} is unusable: {error}"
        return result
    result["key_bits"] = verifier.keysize
    result["key_type"] = _text(verifier.ktag)
    try:
        valid = verifier.verify_sig_process(sig, include_headers, sig_headers[index], lookup)
    except dkimpy.ValidationError as error:
        if "body hash mismatch" in str(error):
            result.update(
                result="fail", body_hash="fail",
                reason="the body changed after signing (body hash mismatch)",
            )
        else:
            result["reason"] = str(error)
        return result
    except dkimpy.KeyFormatError as error:
        result.update(result="fail", body_hash="pass", reason=str(error))
        return result
    except dkimpy.DKIMException as error:
        result["reason"] = str(error)
        return result
    result["body_hash"] = "pass"
    if valid:
        result.update(result="pass", reason="signature verified")
    else:
        result.update(
            result="fail",
            reason="a signed header changed after signing (the body is intact; signed: "
            + ", ".join(result["headers_signed"]) + ")",
        )
    return result


def signature_count(raw: bytes) -> int:
    verifier = dkimpy.DKIM(raw)
    return sum(1 for name, _ in verifier.headers if name.lower() == b"dkim-signature")


def check_dkim(raw: bytes, resolver=None) -> list[dict]:
    """One result per DKIM-Signature, in header order; an empty list when unsigned."""
    lookup = _dnsfunc(resolver or get_resolver())
    try:
        count = signature_count(raw)
    except dkimpy.DKIMException:
        # dkimpy cannot even split the headers: nothing it could verify.
        return []
    return [_verify_one(raw, index, lookup) for index in range(count)]
