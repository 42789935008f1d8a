"""The SPF/DKIM/DMARC marker of a message in lists, and the words for each verdict.

Written in Python rather than a template: the inbox list has one per row, and
its page renders fifty of them (`inboxes.rows` asks `row_marker` for each).
Templates use the same code through `deliverability_tags`.
"""

from django.conf import settings
from django.utils.html import format_html

VERDICT_LABELS = {
    "pass": "Would pass",
    "fail": "Would fail",
    "none": "Not authenticated",
    "temperror": "DNS error",
    "error": "Check failed",
}
NOT_CHECKED = "Not checked yet"


def verdict_label(verdict: str) -> str:
    return VERDICT_LABELS.get(verdict, NOT_CHECKED)


def marker(message) -> str:
    """The marker: its class says the verdict ("pending" before the checks), its title the headline."""
    results = message.deliverability_results
    if results:
        title = results.get("headline", "") if isinstance(results, dict) else ""
    else:
        title = "SPF/DKIM/DMARC checks not run yet"
    verdict = message.deliverability_verdict
    return format_html(
        '<span class="auth-marker auth-marker--{}" data-auth-marker-id="{}" title="{}">{}</span>',
        verdict or "pending",
        message.pk,
        title,
        verdict_label(verdict),
    )


def row_marker(message) -> str:
    """For a list row (`inboxes.rows`): the marker once checked, or while checks are on."""
    if message.deliverability_verdict or settings.MAILDOG_AUTH_CHECKS:
        return marker(message)
    return ""
