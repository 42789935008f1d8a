"""The summary stored with each message at ingest (lists, search), read by the one parser.

`summarize` never raises on a message: it reads the structure and the few
headers it needs within the same budgets as the page, so the subject and
sender in a list are exactly what the message page shows.
"""

import email.utils
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from django.utils.html import strip_tags

from .reading import ParsedMessage
from .text import clean_text

MAX_LINE_OCTETS = 998  # RFC 5321 4.5.3.1.6: 1,000 including CRLF
TEXT_BODY_LIMIT = 100_000
ATTACHMENT_NAMES_LIMIT = 100  # file names kept for search
# A line (between CR or LF) longer than that, tried only at line starts so the search stays linear.
LONG_LINE = re.compile(rb"(?<![^\r\n])[^\r\n]{%d}" % (MAX_LINE_OCTETS + 1))


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
    attachment_names: list[str] = field(default_factory=list)
    has_long_lines: bool = False
    errors: list[str] = field(default_factory=list)
    cuts: list[str] = field(default_factory=list)


def has_long_lines(raw: bytes) -> bool:
    """Whether a line is longer than SMTP allows (998 octets before CRLF).

    The pattern is run only on stretches between LFs long enough to hold such
    a line: on ordinary mail, a few `find` calls instead of a regex step per byte.
    """
    start = 0
    end = len(raw)
    while start < end:
        newline = raw.find(b"\n", start)
        stop = end if newline < 0 else newline
        if stop - start > MAX_LINE_OCTETS and LONG_LINE.search(raw, start, stop) is not None:
            return True
        start = stop + 1
    return False


def _date(message: ParsedMessage) -> datetime | None:
    value = message.raw_header("Date")
    if value is None:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value[:200])
    except (TypeError, ValueError, IndexError):
        message.notes.error(f"Date header is not a valid date: {value[:200]!r}")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def _text_body(message: ParsedMessage) -> str:
    if message.text is not None:
        return message.text[:TEXT_BODY_LIMIT]
    if message.html is not None:
        return clean_text(strip_tags(message.html[: TEXT_BODY_LIMIT * 4]))[:TEXT_BODY_LIMIT]
    return ""


def summarize(raw: bytes) -> Summary:
    """What lists and search need, read from the raw bytes within the reading budgets, without ever raising."""
    message = ParsedMessage(raw)
    summary = Summary(
        subject=message.header("Subject") or "",
        from_header=message.header("From") or "",
        to_header=message.header("To") or "",
        cc_header=message.header("Cc") or "",
        message_id=(message.raw_header("Message-ID") or "").strip()[:255],
        date=_date(message),
        text_body=_text_body(message),
        has_attachments=message.has_attachments,
        attachment_names=[part.filename for part in message.attachment_parts if part.filename][:ATTACHMENT_NAMES_LIMIT],
        has_long_lines=has_long_lines(raw),
    )
    summary.errors = list(message.errors)
    summary.cuts = list(message.cuts)
    return summary
