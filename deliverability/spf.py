"""SPF: evaluate the sender's policy for the connecting client's IP, and check the record.

The evaluation is pyspf's (RFC 7208, strict: the 10-lookup and 2-void-lookup
limits end in permerror); the record review (syntax, lookup counts, warnings)
is checkdmarc's. Both resolve through Maildog's resolver.
"""

import time

import checkdmarc.spf
import dns.exception
import dns.rdatatype
import dns.resolver
import spf as pyspf
from django.conf import settings

from .dns import get_resolver, lookups_interrupted

RESULTS = ("pass", "fail", "softfail", "neutral", "none", "temperror", "permerror")


def _lookup(name, qtype, strict=True, timeout=None):
    """pyspf's DNS hook (`spf.DNSLookup`), answering from Maildog's resolver."""
    if lookups_interrupted():
        raise pyspf.TempError("DNS not looked up: the checks are stopping")
    resolver = get_resolver()
    try:
        answer = resolver.resolve(name, qtype, raise_on_no_answer=False, search=False)
    except dns.resolver.NXDOMAIN:
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.NoResolverConfiguration) as error:
        raise pyspf.TempError(f"DNS {error}") from error
    found = []
    for rdata in answer:
        if qtype in ("A", "AAAA"):
            found.append(((name, qtype), rdata.address))
        elif qtype == "MX":
            found.append(((name, qtype), (rdata.preference, rdata.exchange)))
        elif qtype == "PTR":
            found.append(((name, qtype), rdata.target.to_text(True)))
        elif qtype in ("TXT", "SPF"):
            found.append(((name, qtype), rdata.strings))
    return found


# pyspf resolves through this module-level hook (it picks pydns or dnspython
# the same way); pointing it at Maildog's resolver sends every SPF lookup to
# the configured nameservers, whoever calls pyspf in this process.
pyspf.DNSLookup = _lookup


def _identity(mail_from: str, helo: str) -> tuple[str, str]:
    """(scope, domain): the envelope sender's domain, or the HELO name when the sender is empty."""
    if mail_from and "@" in mail_from:
        return "mailfrom", mail_from.rsplit("@", 1)[1].strip(">").lower()
    return "helo", (helo or "").lower()


# The review is of a domain's record, not of a message: a burst of mail from one domain has it
# reviewed once a minute (it cost more than all the other checks of a message together).
REVIEW_TTL = 60.0
_reviews: dict[str, tuple[float, dict]] = {}


def forget_reviews() -> None:
    """Review every record again from now on (a re-run after fixing a record)."""
    _reviews.clear()


def review_record(domain: str, resolver=None) -> dict:
    """checkdmarc's review of the domain's SPF record: syntax, lookup counts, warnings.

    With the default resolver, a review less than REVIEW_TTL seconds old is reused.
    """
    if resolver is None:
        cached = _reviews.get(domain)
        if cached is not None and time.monotonic() - cached[0] < REVIEW_TTL:
            return {**cached[1], "warnings": list(cached[1]["warnings"])}
    review = _review(domain, resolver or get_resolver())
    if resolver is None:
        if len(_reviews) >= 1000:
            _reviews.clear()
        _reviews[domain] = (time.monotonic(), review)
        review = {**review, "warnings": list(review["warnings"])}
    return review


def _review(domain: str, resolver) -> dict:
    review = checkdmarc.spf.check_spf(domain, resolver=resolver, timeout=float(settings.MAILDOG_DNS_TIMEOUT))
    lookups = review.get("dns_lookups")
    return {
        "record": review.get("record"),
        "valid": bool(review.get("valid")),
        "error": review.get("error", ""),
        "dns_lookups": lookups,
        "void_dns_lookups": review.get("void_dns_lookups"),
        "over_lookup_limit": bool(
            (lookups is not None and lookups > 10) or "too many" in review.get("error", "").lower()
        ),
        "warnings": list(review.get("warnings", [])),
    }


def check_spf(client_ip: str | None, mail_from: str, helo: str) -> dict:
    """The SPF result a receiver would get for this client, sender and HELO."""
    scope, domain = _identity(mail_from, helo)
    result = {
        "scope": scope,
        "domain": domain,
        "client_ip": client_ip or "",
        "result": "none",
        "reason": "",
        "record_review": None,
    }
    if not domain:
        result["reason"] = "no envelope sender and no HELO name to check"
        return result
    if not client_ip:
        result["reason"] = "the client's IP address is unknown"
        return result
    query = pyspf.query(
        i=client_ip,
        s=mail_from if scope == "mailfrom" else "",
        h=helo,
        timeout=float(settings.MAILDOG_DNS_TIMEOUT),
        strict=True,
    )
    verdict, _code, explanation = query.check()
    result["result"] = verdict if verdict in RESULTS else "permerror"
    result["reason"] = explanation
    if verdict not in ("none", "temperror") and not lookups_interrupted():
        result["record_review"] = review_record(domain)
    return result
