"""Turning the check results into what people read: a verdict, an
Authentication-Results header, a headline and fixes to try."""

from django.conf import settings

# "error": a check library raised on this message (see `error_summary`).
VERDICTS = ("pass", "fail", "none", "temperror", "error")


def overall_verdict(dkim: list[dict], spf: dict, dmarc: dict) -> str:
    """pass / fail / none / temperror: would a receiver authenticate this message for its From domain?

    With a DMARC policy the DMARC result decides. Without one, an aligned SPF or
    DKIM pass still authenticates the From domain; otherwise a DNS error gives
    temperror, a failing SPF or DKIM gives fail, and nothing to check gives none.
    """
    if dmarc["result"] == "pass":
        return "pass"
    if dmarc["result"] in ("fail", "permerror"):
        return "fail"
    if dmarc["result"] == "temperror":
        return "temperror"
    if dmarc.get("aligned_pass"):
        return "pass"
    results = [sig["result"] for sig in dkim] + [spf["result"]]
    if "temperror" in results:
        return "temperror"
    if any(r in ("fail", "softfail", "permerror") for r in results):
        return "fail"
    return "none"


def _property(value: str) -> str:
    # RFC 8601 values are tokens or quoted strings.
    if value and all(c.isalnum() or c in "-._@+" for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _comment(text: str) -> str:
    # A header comment: parentheses inside must balance, so brackets replace them.
    return "(" + " ".join(text.replace("(", "[").replace(")", "]").split()) + ")"


def authentication_results(dkim: list[dict], spf: dict, dmarc: dict) -> str:
    """The Authentication-Results header a receiver would add (RFC 8601), folded."""
    parts = []
    if not dkim:
        parts.append("dkim=none")
    for sig in dkim:
        part = f"dkim={sig['result']}"
        if sig["reason"] and sig["result"] != "pass":
            part += " " + _comment(sig["reason"])
        if sig["domain"]:
            part += f" header.d={_property(sig['domain'])}"
        if sig["selector"]:
            part += f" header.s={_property(sig['selector'])}"
        if sig["algorithm"]:
            part += f" header.a={_property(sig['algorithm'])}"
        if sig.get("b_prefix"):
            part += f" header.b={_property(sig['b_prefix'])}"
        parts.append(part)
    spf_part = f"spf={spf['result']}"
    if spf.get("client_ip"):
        spf_part += " " + _comment(f"client-ip {spf['client_ip']}")
    if spf["scope"] == "mailfrom" and spf["domain"]:
        spf_part += f" smtp.mailfrom={_property(spf['domain'])}"
    elif spf["domain"]:
        spf_part += f" smtp.helo={_property(spf['domain'])}"
    parts.append(spf_part)
    dmarc_part = f"dmarc={dmarc['result']}"
    if dmarc.get("record"):
        dmarc_part += " " + _comment(f"p={dmarc['policy']} dis={dmarc['disposition']}")
    if dmarc["from_domain"]:
        dmarc_part += f" header.from={_property(dmarc['from_domain'])}"
    parts.append(dmarc_part)
    return "Authentication-Results: " + settings.MAILDOG_SMTP_HOSTNAME + ";\r\n\t" + ";\r\n\t".join(parts)


def headline(verdict: str, dkim: list[dict], spf: dict, dmarc: dict) -> str:
    """One sentence: would it pass, and why."""
    domain = dmarc["from_domain"] or "the From domain"
    if verdict == "pass":
        passed = [i for i in dmarc["identifiers"] if i["result"] == "pass" and i["aligned"]]
        how = " and ".join(sorted({i["kind"].upper() for i in passed})) or "SPF or DKIM"
        if dmarc.get("record"):
            return f"Would pass: DMARC passes for {domain} through aligned {how}."
        return f"Would pass: aligned {how} authenticates {domain} (no DMARC policy published)."
    if verdict == "temperror":
        return "Could not be checked: DNS did not answer (temperror). Re-run when DNS is reachable."
    if verdict == "none":
        return f"Not authenticated: nothing vouches for {domain} (no DKIM signature, no SPF pass, no DMARC)."
    if dmarc["result"] == "fail":
        action = {
            "reject": "receivers would reject it",
            "quarantine": "receivers would put it in spam",
            "none": "the policy is p=none, so receivers would still deliver it",
        }[dmarc["disposition"]]
        sampled = dmarc.get("sampling", {}).get("sampled", "all")
        if sampled == "none":
            action += f" (pct=0: p={dmarc['policy']} is never enacted; failing mail gets the next milder policy)"
        elif sampled == "some":
            action += f" (pct={dmarc['pct']}: for that share of failing mail; the rest one step milder)"
        return f"Would fail DMARC for {domain}: {dmarc['reason']}; {action}."
    if dmarc["result"] == "permerror":
        return f"Would fail: DMARC for {domain} cannot be evaluated ({dmarc['reason']})."
    failing = [f"DKIM {s['result']} ({s['reason']})" for s in dkim if s["result"] != "pass"]
    if spf["result"] not in ("pass", "none", "neutral"):
        failing.append(f"SPF {spf['result']} for {spf['client_ip']}")
    return "Would fail: " + "; ".join(failing) + "."


def fixes(dkim: list[dict], spf: dict, dmarc: dict) -> list[str]:
    """Concrete things to try, most important first."""
    todo = []
    from_domain = dmarc["from_domain"]
    if any(s["result"] == "temperror" for s in dkim) or "temperror" in (spf["result"], dmarc["result"]):
        todo.append("DNS did not answer: check MAILDOG_DNS_NAMESERVERS and the network, then re-run the checks.")
    if not dkim and from_domain:
        todo.append(
            f"Sign outgoing mail with DKIM using d={from_domain} and publish the key at "
            f"<selector>._domainkey.{from_domain}."
        )
    for sig in dkim:
        reason = sig["reason"]
        if sig["body_hash"] == "fail":
            todo.append(
                "Something changed the body after DKIM signing (a footer, re-encoding, line wrapping): "
                "sign as the very last step, or use c=relaxed/relaxed."
            )
        elif sig["result"] == "fail" and "header changed" in reason:
            todo.append(
                "A signed header changed after DKIM signing: sign last, and do not sign headers that a relay rewrites."
            )
        elif "unknown selector" in reason:
            todo.append(
                f"Publish the DKIM public key as a TXT record at {sig['selector']}._domainkey.{sig['domain']} "
                "(v=DKIM1; k=rsa; p=...), or sign with the selector that is published."
            )
        elif "too small" in reason or (sig["key_type"] == "rsa" and sig["key_bits"] and sig["key_bits"] < 2048):
            todo.append(f"Use a 2048-bit RSA key for selector {sig['selector']} ({sig['key_bits']} bits now).")
        elif sig["result"] == "permerror" and sig["reason"]:
            todo.append(f"Fix the DKIM signature for {sig['domain'] or 'its domain'}: {reason}.")
    for ident in dmarc["identifiers"]:
        if ident["result"] == "pass" and not ident["aligned"] and from_domain:
            if ident["kind"] == "dkim":
                todo.append(
                    f"DKIM passes for {ident['domain']}, not {from_domain}: sign with d={from_domain} "
                    "(or a subdomain of it) so it aligns with From."
                )
            else:
                todo.append(
                    f"SPF passes for {ident['domain']}, not {from_domain}: use an envelope sender "
                    f"(Return-Path) at {from_domain} so SPF aligns with From."
                )
    if spf["domain"]:
        if spf["result"] == "none":
            address = spf["client_ip"] or "<sending IP>"
            todo.append(f'Publish an SPF record for {spf["domain"]}, e.g. "v=spf1 ip4:{address} -all".')
        elif spf["result"] in ("fail", "softfail", "neutral"):
            todo.append(
                f"Authorise the sending IP {spf['client_ip']} in the SPF record of {spf['domain']} "
                f"(e.g. add ip4:{spf['client_ip']}, or include: your provider)."
            )
        review = spf.get("record_review") or {}
        if review.get("over_lookup_limit"):
            todo.append(
                f"The SPF record of {spf['domain']} needs more than 10 DNS lookups "
                "(receivers answer permerror): remove or flatten include:s."
            )
        elif spf["result"] == "permerror":
            todo.append(f"Fix the SPF record of {spf['domain']}: {review.get('error') or spf['reason']}.")
    if dmarc["result"] == "none" and from_domain:
        todo.append(
            f"Publish a DMARC policy at _dmarc.{dmarc['organizational_domain'] or from_domain}, "
            'starting with "v=DMARC1; p=none; rua=mailto:...".'
        )
    elif dmarc["result"] == "pass" and dmarc["policy"] == "none":
        todo.append("DMARC passes with p=none: once reports look clean, move to p=quarantine and then p=reject.")
    return list(dict.fromkeys(todo))


def summarize(dkim: list[dict], spf: dict, dmarc: dict) -> dict:
    """Everything the pages show, as one JSON-ready dict (stored in Message.deliverability_results)."""
    verdict = overall_verdict(dkim, spf, dmarc)
    return {
        "version": 1,
        "verdict": verdict,
        "headline": headline(verdict, dkim, spf, dmarc),
        "fixes": fixes(dkim, spf, dmarc),
        "authentication_results": authentication_results(dkim, spf, dmarc),
        "dkim": dkim,
        "spf": spf,
        "dmarc": dmarc,
    }


def error_summary(error: BaseException) -> dict:
    """What the pages show when a check library raised on a message: verdict "error" and the reason."""
    reason = f"{type(error).__name__}: {error}"
    return {
        "version": 1,
        "verdict": "error",
        "headline": f"Could not be checked: the checks failed on this message ({reason}).",
        "fixes": [],
        "authentication_results": "",
        "error": reason,
        "dkim": [],
        "spf": {},
        "dmarc": {},
    }
