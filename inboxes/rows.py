"""The rows of an inbox's message list, written in Python.

The page has fifty of them, and through the template engine (an include per
row, a dozen lookups and filters each) they took half of its time on a slow
machine. Apps built on inboxes add what they show in a row's flags cell with
`add_flag` (deliverability: its SPF/DKIM/DMARC marker), so that inboxes
imports none of them.
"""

from collections.abc import Callable

from django.template.defaultfilters import filesizeformat
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.templatetags.maildog_time import when, when_iso

from .templatetags.search_tags import highlight

_flags: list[Callable] = []

CLIP = (
    '<span class="clip" title="Has attachments"><svg class="icon" viewBox="0 0 24 24" width="14" height="14" '
    'aria-hidden="true"><path d="M21 11.5l-8.6 8.6a5.2 5.2 0 0 1-7.4-7.4l8.6-8.6a3.5 3.5 0 0 1 4.9 4.9l-8.6 8.6a1.7 '
    '1.7 0 0 1-2.5-2.5l7.9-7.9" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>'
    "</svg></span>"
)


def add_flag(render: Callable) -> None:
    """`render(message)` gives the safe HTML an app shows in each row's flags cell ("" for none)."""
    if render not in _flags:
        _flags.append(render)


def row(message, search_words) -> str:
    """One row: the words a search matched are marked in sender, subject and recipients."""
    m = message
    sender = highlight(m.from_header or m.envelope_from, search_words)
    subject = highlight(m.subject or "(no subject)", search_words)
    recipients = highlight(m.to_header or ", ".join(map(str, m.envelope_to or [])), search_words)
    flags = (CLIP if m.has_attachments else "") + "".join(render(m) for render in _flags)
    return (
        f'<tr class="message-row{"" if m.is_read else " unread"}" data-seq="{m.seq}" data-id="{m.pk}">\n'
        f'  <td class="check"><input type="checkbox" name="ids" value="{m.pk}" form="bulk" aria-label="Select"></td>\n'
        f'  <td class="from"><span class="dot" title="Unread"></span><span class="cell-from">{sender}</span></td>\n'
        f'  <td class="subject"><a href="{escape(m.get_absolute_url())}" class="cell-subject">{subject}</a>\n'
        f'    <div class="muted small cell-to">to {recipients}</div></td>\n'
        f'  <td class="flags">{flags}</td>\n'
        f'  <td class="size muted">{escape(filesizeformat(m.size))}</td>\n'
        f'  <td class="time muted"><time datetime="{escape(when_iso(m.received_at))}">'
        f"{escape(when(m.received_at))}</time></td>\n"
        "</tr>"
    )


def rows(messages, search_words) -> SafeString:
    # Every piece is escaped above (highlight escapes what it does not mark; the flags are safe HTML).
    return mark_safe("".join(row(message, search_words) for message in messages))  # noqa: S308
