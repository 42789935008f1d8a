"""Reading captured messages: a best-effort summary for storage and lists.

Captured mail is whatever an application produced, broken or not. Nothing here
raises on bad input: each problem is recorded as a readable note and parsing
goes on with what it can read.
"""

import email
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage

from django.utils.html import strip_tags

MAX_LINE_OCTETS = 998  # RFC 5321 4.5.3.1.6: 1,000 including CRLF
TEXT_BODY_LIMIT = 100_000


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


def clean_text(value) -> str:
    """A str that any database accepts: 8-bit bytes read as UTF-8, no NULs."""
    text = str(value)
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text.replace("\x00", "\ufffd")


@dataclass
class Summary:
    subject: str = ""
    from_header: str = ""
    to_header: str = ""
    cc_header: str = ""
    date: datetime | None = None
    message_id: str = ""
    text_body: str = ""
    has_attachments: bool = False
    has_long_lines: bool = False
    errors: list[str] = field(default_factory=list)


def _header(message, name, summary):
    try:
        value = message.get(name)
    except Exception as exc:  # the email package raises many types on bad headers
        summary.errors.append(f"{name} header could not be read: {exc}")
        return ""
    return clean_text(value) if value is not None else ""


def _date(message, summary):
    try:
        header = message.get("Date")
        value = header.datetime if header is not None else None
    except Exception as exc:
        summary.errors.append(f"Date header could not be read: {exc}")
        return None
    if header is not None and value is None:
        summary.errors.append(f"Date header is not a valid date: {clean_text(header)!r}")
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value


def _part_text(part) -> str:
    try:
        return part.get_content()
    except (LookupError, ValueError, AssertionError):
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", "replace")


def _text_body(message, summary):
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except Exception as exc:
        summary.errors.append(f"Message body could not be found: {exc}")
        return ""
    if part is None:
        return ""
    text = _part_text(part)
    if part.get_content_subtype() == "html":
        text = strip_tags(text)
    return clean_text(text[:TEXT_BODY_LIMIT])


def _has_attachments(message):
    return any(part.is_attachment() for part in message.walk())


def has_long_lines(raw: bytes) -> bool:
    return any(len(line) > MAX_LINE_OCTETS for line in raw.splitlines())


def summarize(raw: bytes) -> Summary:
    summary = Summary(has_long_lines=has_long_lines(raw))
    try:
        message = parse(raw)
    except Exception as exc:
        summary.errors.append(f"Message could not be parsed: {exc}")
        return summary
    for defect in message.defects:
        summary.errors.append(f"{type(defect).__name__}: {defect}")
    summary.subject = _header(message, "Subject", summary)
    summary.from_header = _header(message, "From", summary)
    summary.to_header = _header(message, "To", summary)
    summary.cc_header = _header(message, "Cc", summary)
    summary.message_id = _header(message, "Message-ID", summary)[:255]
    summary.date = _date(message, summary)
    summary.text_body = _text_body(message, summary)
    try:
        summary.has_attachments = _has_attachments(message)
    except Exception as exc:
        summary.errors.append(f"MIME structure could not be read: {exc}")
    return summary
