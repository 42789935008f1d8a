"""Building, saving and re-running the report on a message.

The SPF/DKIM/DMARC worker (`deliverability.service.check_messages`) calls
`run(message, raw, stop)` for each message it checks, with the raw source it
already holds, then `save(messages)` for the batch it saved, and puts
`counts(message)` into its `message.checked` event: the report is one more
step of the same background queue, never in front of the 250.

`build(raw, ...)` reads the message with the one bounded parser
(`inboxes.mime.read`: its budgets apply), then runs the content checks and the
HTML compatibility check within MAILDOG_REPORT_TIME_LIMIT seconds, the spam
score within MAILDOG_SPAMD_TIMEOUT and the link check (when the inbox opted
in) within MAILDOG_LINK_CHECK_TIME_LIMIT. What a budget cut is listed in
`limits` and makes the report's status "bounded"; a check that raises makes
it "failed" with the reason, and never touches another message's report.
"""

import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from inboxes import events, mime
from inboxes.models import Message
from inboxes.raw_source import load_raw

from . import compat, content, linkcheck, spam
from .findings import Findings
from .models import InboxReportSettings, Report
from .scan import scan_html

log = logging.getLogger("maildog.reports")

SEVERITY_ORDER = {"error": 0, "warning": 1, "note": 2}


def build(raw: bytes, inbox_settings: InboxReportSettings, stop: threading.Event | None = None) -> dict:
    """The report on `raw` as a dict: status, counts, findings and the sections (see module docs)."""
    started = time.monotonic()
    deadline = started + float(settings.MAILDOG_REPORT_TIME_LIMIT)
    findings = Findings(settings.MAILDOG_REPORT_MAX_FINDINGS)
    # Only what the report reads (headers, bodies): the parser's time budget is not spent on listing links.
    parsed = mime.ParsedMessage(raw)
    parsed.text  # noqa: B018 (read on first use, notes its cuts)
    parsed.html  # noqa: B018
    scan = scan_html(parsed.html, deadline) if parsed.html is not None else None
    limits = list(parsed.cuts)
    if scan is not None:
        limits += scan.cuts
    text_urls = content.text_urls(parsed)

    if scan is not None:
        content.check_leftovers(findings, "html", scan.texts)
        content.check_leftovers(
            findings,
            "html",
            [(u.url, u.line) for u in scan.urls] + [(e.attrs.get("alt", ""), e.line) for e in scan.images],
        )
    content.check_leftovers(findings, "text", content.text_chunks(parsed.text))
    content.check_leftovers(findings, "headers", [(parsed.header("Subject") or "", 1)])
    content.check_urls(findings, scan, text_urls, inbox_settings.expected_site_url)
    content.check_text_paths(findings, parsed.text)
    content.check_parts(findings, parsed, scan, text_urls)
    content.check_headers(findings, parsed)
    content.check_sizes(findings, parsed, scan, len(raw))

    compatibility = None
    if scan is not None:
        compatibility = compat.check_compatibility(findings, scan, deadline)
        limits += compatibility["cuts"]

    spam_section = spam.check_spam(findings, raw) if not (stop and stop.is_set()) else {"status": "stopped"}
    link_urls: list[tuple[str, str, int | None]] = [
        (u.url, "html", u.line) for u in (scan.urls if scan else []) if u.kind in ("link", "image")
    ]
    link_urls += [(url, "text", line) for url, line in text_urls]
    links_section = linkcheck.check_links(findings, link_urls, inbox_settings, stop)
    limits += links_section.get("cuts", [])
    limits += findings.left_out_sentences()
    ordered = sorted(findings.items, key=lambda f: SEVERITY_ORDER[f.severity])
    return {
        "status": Report.Status.BOUNDED if limits else Report.Status.COMPLETE,
        **findings.counts(),
        "findings": [f.as_dict() for f in ordered],
        "compatibility": compatibility,
        "spam": spam_section,
        "links": links_section,
        "limits": limits,
        "parse_errors": parsed.errors,
        "size": len(raw),
        "duration": round(time.monotonic() - started, 3),
    }


def failed(error: BaseException) -> dict:
    return {
        "status": Report.Status.FAILED,
        "errors": 0,
        "warnings": 0,
        "notes": 0,
        "findings": [],
        "limits": [],
        "reason": f"The report could not be made: {type(error).__name__}: {error}",
    }


def report_on(
    message: Message, raw: bytes, stop: threading.Event | None = None, inbox_settings: dict | None = None
) -> Report:
    """The (unsaved) report on a stored message; a check that raises gives a "failed" report.

    `inbox_settings` (inbox id -> InboxReportSettings) keeps each inbox's settings for a batch:
    one query per inbox rather than per message.
    """
    try:
        if inbox_settings is None:
            inbox_settings = {}
        if message.inbox_id not in inbox_settings:
            inbox_settings[message.inbox_id] = InboxReportSettings.for_inbox(message.inbox_id)
        data = build(raw, inbox_settings[message.inbox_id], stop)
    except Exception as error:  # recorded on the report ("failed", with the reason) and logged with its traceback
        log.exception("report failed on message %s", message.pk)
        data = failed(error)
    return Report(
        message_id=message.pk,
        status=data.pop("status"),
        errors=data.pop("errors"),
        warnings=data.pop("warnings"),
        notes=data.pop("notes"),
        data=data,
        created_at=timezone.now(),
    )


# --- the hooks the checks worker calls -------------------------------------------------


def run(message: Message, raw: bytes, stop: threading.Event | None = None, inbox_settings: dict | None = None) -> None:
    """Make the report on `message` (kept on it until `save`); nothing when MAILDOG_REPORTS is off.

    Pass the same `inbox_settings` dict for the messages of a batch (see `report_on`).
    """
    if settings.MAILDOG_REPORTS:
        message._maildog_report = report_on(message, raw, stop, inbox_settings)  # type: ignore[attr-defined]


def save(messages) -> None:
    """Save the reports `run` made for these messages, in one transaction; one by one if that fails.

    A message deleted meanwhile loses its report (its row is gone); the
    others are saved.
    """
    reports = [m._maildog_report for m in messages if getattr(m, "_maildog_report", None) is not None]
    if not reports:
        return
    try:
        with transaction.atomic():
            _upsert(reports)
    except IntegrityError:
        for report in reports:
            try:
                with transaction.atomic():
                    _upsert([report])
            except IntegrityError:
                log.info("report on message %s not saved: the message is gone", report.message_id)


def _upsert(reports: list[Report]) -> None:
    existing = set(Message.objects.filter(pk__in=[r.message_id for r in reports]).values_list("pk", flat=True))
    Report.objects.bulk_create(
        [r for r in reports if r.message_id in existing],
        update_conflicts=True,
        unique_fields=["message"],
        update_fields=["status", "errors", "warnings", "notes", "data", "created_at"],
    )


def counts(message: Message) -> dict | None:
    """What the `message.checked` event says about the report (None when there is none)."""
    report = getattr(message, "_maildog_report", None)
    return report.counts() if report is not None else None


# --- re-running one report ---------------------------------------------------------------


def rerun(message: Message) -> Report | None:
    """Make and save the report on one stored message now, then push `message.checked` after the commit.

    Returns None when the message no longer exists.
    """
    try:
        raw = load_raw(message.pk)
    except Message.DoesNotExist:
        return None
    report = report_on(message, raw)
    del raw
    message._maildog_report = report  # type: ignore[attr-defined]
    try:
        save([message])
    except DatabaseError:
        log.warning("report on message %s not saved (database error)", message.pk, exc_info=True)
        raise
    event = {
        "type": "message.checked",
        "message_id": message.pk,
        "verdict": message.deliverability_verdict,
        "report": report.counts(),
    }
    transaction.on_commit(lambda: events.send_to_inbox(message.inbox_id, event), robust=True)
    return report
