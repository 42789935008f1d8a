"""Reading captured messages: a best-effort summary for storage and lists.

Captured mail is whatever an application produced, broken or not. Nothing here
raises on bad input: each problem is recorded as a readable note and parsing
goes on with what it can read.
"""

import email
import email.errors
import email.header
import email.utils
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage

from django.utils.html import strip_tags

FOLD = re.compile(r"\r?\n(?=[ \t])")
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


# The summary is computed for every message on the SMTP path, so it reads the
# message with the fast compat32 policy (plain strings, no header objects)
# and decodes only the few headers and the one part it needs.


def raw_header(message, name):
    """The first `name` header as sent (unfolded), 8-bit bytes read as UTF-8; None if absent."""
    name = name.lower()
    for key, value in message.raw_items():
        if key.lower() == name:
            return clean_text(FOLD.sub("", value))
    return None


def decode_header_value(value) -> str:
    """An RFC 2047-decoded header value; undecodable words are kept as sent."""
    if value is None:
        return ""
    try:
        return clean_text(email.header.make_header(email.header.decode_header(value)))
    except (LookupError, ValueError, email.errors.HeaderParseError):
        return value


def _date(message, summary):
    value = raw_header(message, "Date")
    if value is None:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        summary.errors.append(f"Date header is not a valid date: {clean_text(value)!r}")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def decode_part(part) -> str:
    """A text part's content as str, whatever its transfer encoding or charset."""
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("utf-8", "replace")


def _text_body(message):
    plain = html = None
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        content_type = part.get_content_type()
        if content_type == "text/plain" and plain is None:
            plain = part
        elif content_type == "text/html" and html is None:
            html = part
    if plain is not None:
        return clean_text(decode_part(plain)[:TEXT_BODY_LIMIT])
    if html is not None:
        return clean_text(strip_tags(decode_part(html))[:TEXT_BODY_LIMIT])
    return ""


def _has_attachments(message):
    return any(
        part.get_content_disposition() == "attachment"
        or (part.get_filename() and not part.is_multipart())
        for part in message.walk()
    )


def has_long_lines(raw: bytes) -> bool:
    return any(len(line) > MAX_LINE_OCTETS for line in raw.splitlines())


def summarize(raw: bytes) -> Summary:
    """What lists and search need, read from the raw bytes without ever raising."""
    summary = Summary(has_long_lines=has_long_lines(raw))
    message = email.message_from_bytes(raw, policy=policy.compat32)
    for part in message.walk():
        for defect in part.defects:
            summary.errors.append(f"{type(defect).__name__}: {defect.__doc__ or defect}".strip())
    summary.subject = decode_header_value(raw_header(message, "Subject"))
    summary.from_header = decode_header_value(raw_header(message, "From"))
    summary.to_header = decode_header_value(raw_header(message, "To"))
    summary.cc_header = decode_header_value(raw_header(message, "Cc"))
    summary.message_id = (raw_header(message, "Message-ID") or "").strip()[:255]
    summary.date = _date(message, summary)
    summary.text_body = _text_body(message)
    summary.has_attachments = _has_attachments(message)
    return summary
