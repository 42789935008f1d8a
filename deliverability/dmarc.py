"""DMARC: the From domain's policy, alignment of the authenticated domains, the verdict.

Policy discovery follows RFC 7489 6.6.3: `_dmarc.<From domain>`, and when that
has no record, `_dmarc.<organisational domain>`, where the organisational
domain comes from the Public Suffix List (`publicsuffixlist`, which ships the
list, so no download is needed). A policy found at the organisational domain
applies its `sp=` (if any) to a subdomain's mail.
"""

import functools
import re
from email.utils import getaddresses

from publicsuffixlist import PublicSuffixList

from .dns import DNSTemporaryError, get_resolver, txt_records

_psl = PublicSuffixList()

POLICIES = ("none", "quarantine", "reject")
# RFC 7489 6.3 (pct): mail sampled out of a policy gets the next less strict one.
MILDER = {"reject": "quarantine", "quarantine": "none", "none": "none"}
# A DMARC URI (RFC 7489 6.2): a URI (scheme ":" ...) with an optional "!size" suffix.
DMARC_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s!]+(?:![0-9]+[kmgt]?)?$")


@functools.lru_cache(maxsize=4096)  # the list does not change while the process runs
def organizational_domain(domain: str) -> str:
    """The registrable domain (example.co.uk for mail.example.co.uk); the domain itself if it is a suffix."""
    domain = domain.lower().rstrip(".")
    return _psl.privatesuffix(domain) or domain


def from_domains(from_header: str) -> list[str]:
    """The domains of the addresses in the From header."""
    return [
        address.rsplit("@", 1)[1].lower().strip(">")
        for _name, address in getaddresses([from_header or ""])
        if "@" in address
    ]


def parse_record(record: str) -> dict:
    """The tags of a DMARC record (lower-case names, values as written)."""
    tags = {}
    for part in record.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags[name.strip().lower()] = value.strip()
    return tags


def find_policy(domain: str, resolver) -> dict:
    """The DMARC record that governs `domain`: {"record", "location", "tags"} or {"record": None}.

    Raises DNSTemporaryError when a lookup could not be completed.
    """
    org = organizational_domain(domain)
    for location in dict.fromkeys([domain, org]):
        records = txt_records(resolver, f"_dmarc.{location}") or []
        dmarc = [r.decode("utf-8", "replace") for r in records if r.lower().startswith(b"v=dmarc1")]
        if len(dmarc) == 1:
            return {"record": dmarc[0], "location": location, "tags": parse_record(dmarc[0])}
        if len(dmarc) > 1:
            # RFC 7489 6.6.3: several records at one name count as none.
            return {
                "record": None,
                "location": location,
                "error": f"_dmarc.{location} has {len(dmarc)} DMARC records; receivers ignore them all",
            }
    return {"record": None, "location": org}


def has_valid_rua(tags: dict) -> bool:
    """Whether rua= holds at least one syntactically valid reporting URI (RFC 7489 6.6.3)."""
    return any(DMARC_URI.match(uri.strip()) for uri in tags.get("rua", "").split(","))


def sampling(policy: str, pct: int) -> dict:
    """What pct= means for failing mail (RFC 7489 6.3, 6.6.4).

    The policy is enacted on at most pct percent of failing messages; those
    sampled out get the next less strict policy (reject -> quarantine ->
    none). `sampled` says which of them a failing message can be: "all"
    (pct=100), "none" (pct=0: the policy is never enacted) or "some".
    """
    milder = MILDER[policy]
    if pct >= 100 or policy == milder:
        sampled = "all"
    elif pct <= 0:
        sampled = "none"
    else:
        sampled = "some"
    return {
        "pct": pct,
        "sampled": sampled,
        "policy_applied": policy,
        "sampled_out": milder,
        "disposition": milder if sampled == "none" else policy,
    }


def aligned(domain: str, from_domain: str, mode: str) -> bool:
    """Strict: the same domain; relaxed: the same organisational domain."""
    if not domain or not from_domain:
        return False
    domain, from_domain = domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    if mode == "s":
        return domain == from_domain
    return organizational_domain(domain) == organizational_domain(from_domain)


def _identifier(kind, domain, result, from_domain, mode):
    return {
        "kind": kind,
        "domain": domain,
        "result": result,
        "aligned_relaxed": aligned(domain, from_domain, "r"),
        "aligned_strict": aligned(domain, from_domain, "s"),
        "aligned": aligned(domain, from_domain, mode),
    }


def check_dmarc(
    from_header: str, dkim_results: list[dict], spf_result: dict, resolver=None, policies: dict | None = None
) -> dict:
    """The DMARC result for the message and the disposition a receiver would apply.

    `policies` keeps the policies found, by From domain, for the next messages of a batch.
    """
    resolver = resolver or get_resolver()
    domains = list(dict.fromkeys(from_domains(from_header)))
    result = {
        "from_domain": domains[0] if domains else "",
        "result": "none",
        "reason": "",
        "record": None,
        "location": "",
        "policy": "none",
        "policy_source": "",
        "pct": 100,
        "adkim": "r",
        "aspf": "r",
        "identifiers": [],
        "disposition": "none",
        "organizational_domain": "",
    }
    if len(domains) != 1:
        result["result"] = "permerror"
        result["reason"] = "the From header has no address" if not domains else "the From header names several domains"
        return result
    from_domain = domains[0]
    result["organizational_domain"] = organizational_domain(from_domain)
    try:
        key = ("dmarc", from_domain)
        found = policies.get(key) if policies is not None else None
        if found is None:
            found = find_policy(from_domain, resolver)
            if policies is not None:
                policies[key] = found
    except DNSTemporaryError as error:
        result.update(result="temperror", reason=f"the DMARC record could not be looked up: {error}")
        return result
    tags = found.get("tags", {})
    result["record"], result["location"] = found["record"], found["location"]
    result["adkim"] = "s" if tags.get("adkim", "r").lower() == "s" else "r"
    result["aspf"] = "s" if tags.get("aspf", "r").lower() == "s" else "r"

    identifiers = [
        _identifier("dkim", sig["domain"], sig["result"], from_domain, result["adkim"]) for sig in dkim_results
    ]
    if spf_result.get("domain"):
        identifiers.append(_identifier("spf", spf_result["domain"], spf_result["result"], from_domain, result["aspf"]))
    result["identifiers"] = identifiers
    aligned_pass = [i for i in identifiers if i["result"] == "pass" and i["aligned"]]
    result["aligned_pass"] = bool(aligned_pass)

    if found["record"] is None:
        result["reason"] = found.get("error") or f"no DMARC record at _dmarc.{from_domain}" + (
            f" or _dmarc.{found['location']}" if found["location"] != from_domain else ""
        )
        return result

    policy, subdomain_policy = tags.get("p", "").lower(), tags.get("sp", "").lower()
    invalid = []
    if policy not in POLICIES:
        invalid.append("no valid p= tag" if "p" not in tags else f"an invalid p={tags['p']!r}")
    if "sp" in tags and subdomain_policy not in POLICIES:
        invalid.append(f"an invalid sp={tags['sp']!r}")
    if invalid and not has_valid_rua(tags):
        # RFC 7489 6.6.3: without a valid rua= the record is unusable: no DMARC processing.
        result.update(
            result="permerror",
            reason=f"the record at _dmarc.{found['location']} has {' and '.join(invalid)}, "
            "and no valid rua=, so receivers ignore it",
        )
        return result
    if invalid:
        # RFC 7489 6.6.3: with a valid rua= a receiver acts as if the record said p=none, and carries on.
        result["policy"], result["policy_source"] = "none", "rua"
        result["policy_note"] = (
            f"the record has {' and '.join(invalid)}; with a valid rua= receivers act as if it said p=none"
        )
    else:
        result["policy"], result["policy_source"] = policy, "p"
        if found["location"] != from_domain and subdomain_policy:
            # The From domain is a subdomain governed by its organisational domain's record.
            result["policy"], result["policy_source"] = subdomain_policy, "sp"
    try:
        result["pct"] = max(0, min(100, int(tags.get("pct", "100"))))
    except ValueError:
        result["pct"] = 100
    result["sampling"] = sampling(result["policy"], result["pct"])

    if aligned_pass:
        passed = aligned_pass[0]
        reason = f"{passed['kind'].upper()} passed for {passed['domain']}, aligned with From"
        result.update(result="pass", reason=reason)
        return result
    if any(i["result"] == "temperror" for i in identifiers):
        result.update(result="temperror", reason="SPF or DKIM could not be evaluated (DNS error)")
        return result
    result["result"] = "fail"
    unaligned = [i for i in identifiers if i["result"] == "pass"]
    if unaligned:
        result["reason"] = "; ".join(
            f"{i['kind'].upper()} passed for {i['domain']}, which is not aligned with {from_domain}" for i in unaligned
        )
    else:
        result["reason"] = "neither SPF nor DKIM passed for a domain aligned with From"
    result["disposition"] = result["sampling"]["disposition"]
    return result
