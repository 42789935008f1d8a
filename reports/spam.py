"""Spam score from SpamAssassin's spamd (MAILDOG_SPAMD_URL), through the aiospamc client library.

spamd answers the SPAMC REPORT command with the score, the threshold and the
rules that hit with their descriptions. Off when MAILDOG_SPAMD_URL is unset
(the section says so). Messages larger than MAILDOG_SPAMD_MAX_BYTES are not
sent (spamc's own default is 500 KB: spamd is slow on large mail and real
filters skip it too); each scan is bounded by MAILDOG_SPAMD_TIMEOUT.
"""

import asyncio
import re
from urllib.parse import urlsplit

import aiospamc
from aiospamc.exceptions import ClientException, TimeoutException
from aiospamc.responses import ResponseException
from django.conf import settings

from .findings import Findings

RULE_LINE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s+(.*)$")
DEFAULT_PORT = 783
# A rule worth telling about on its own (points).
NOTABLE_POINTS = 1.0


def spamd_address(url: str) -> tuple[str, int]:
    """host and port of `spamd://host:port` (or tcp://, or host:port)."""
    split = urlsplit(url if "://" in url else f"spamd://{url}")
    if split.scheme not in ("spamd", "tcp") or not split.hostname:
        raise ValueError(f"MAILDOG_SPAMD_URL must look like spamd://host:port, not {url!r}")
    return split.hostname, split.port or DEFAULT_PORT


def parse_rules(report: str) -> list[dict]:
    """The rules table of a SpamAssassin report: points, name, description (continuation lines joined)."""
    rules: list[dict] = []
    in_table = False
    for line in report.splitlines():
        if line.startswith("----"):
            in_table = True
            continue
        if not in_table or not line.strip():
            continue
        found = RULE_LINE.match(line)
        if found:
            rules.append({"points": float(found.group(1)), "name": found.group(2), "description": found.group(3)})
        elif rules and line.startswith(" "):
            rules[-1]["description"] += " " + line.strip()
    return rules


async def _report(raw: bytes, host: str, port: int, timeout: float):
    return await aiospamc.report(raw, host=host, port=port, timeout=aiospamc.Timeout(total=timeout))


def check_spam(findings: Findings, raw: bytes) -> dict:
    """The spam section: {"enabled", "status", "score", "threshold", "is_spam", "rules", "reason"}."""
    url = settings.MAILDOG_SPAMD_URL
    if not url:
        return {"enabled": False, "status": "off", "reason": "The spam score is off: MAILDOG_SPAMD_URL is not set."}
    limit = settings.MAILDOG_SPAMD_MAX_BYTES
    if len(raw) > limit:
        return {
            "enabled": True,
            "status": "skipped",
            "reason": f"Not scanned: the message is {len(raw):,} bytes, over MAILDOG_SPAMD_MAX_BYTES ({limit:,}); "
            "spam filters usually skip mail this large too.",
        }
    try:
        host, port = spamd_address(url)
    except ValueError as error:
        return {"enabled": True, "status": "error", "reason": str(error)}
    try:
        response = asyncio.run(_report(raw, host, port, settings.MAILDOG_SPAMD_TIMEOUT))
    except (TimeoutException, asyncio.TimeoutError):
        return {
            "enabled": True,
            "status": "error",
            "reason": f"spamd at {host}:{port} did not answer within {settings.MAILDOG_SPAMD_TIMEOUT:g} s.",
        }
    except (ClientException, ResponseException, OSError) as error:
        return {"enabled": True, "status": "error", "reason": f"spamd at {host}:{port} failed: {error}"}
    spam = response.headers.spam
    rules = parse_rules(response.body.decode("utf-8", "replace"))
    section = {
        "enabled": True,
        "status": "done",
        "score": spam.score,
        "threshold": spam.threshold,
        "is_spam": spam.value,
        "rules": rules,
        "reason": "",
    }
    top = sorted((r for r in rules if r["points"] > 0), key=lambda r: -r["points"])
    if spam.value:
        findings.add(
            "error",
            "spam-score",
            f"SpamAssassin scores the message {spam.score:g}, over its threshold of {spam.threshold:g}",
            "Receivers running SpamAssassin (and filters that weigh the same signals) would file it as spam. "
            "Biggest contributions: "
            + "; ".join(f"{r['name']} {r['points']:+g} ({r['description']})" for r in top[:3]),
            "Fix the rules with the most points first (see the Spam section of the report).",
            part="spam",
            text=f"{spam.score:g} / {spam.threshold:g}",
        )
    for rule in top:
        if rule["points"] >= NOTABLE_POINTS:
            findings.add(
                "warning" if not spam.value else "note",
                "spam-rule",
                f"SpamAssassin rule {rule['name']} adds {rule['points']:g} points",
                rule["description"],
                "Change what the rule matches; its name is documented at https://spamassassin.apache.org/",
                part="spam",
                text=rule["name"],
            )
    return section
