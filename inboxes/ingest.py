"""Storing a captured message: the one place the SMTP side writes to the database.

`ingest()` is plain synchronous code so that it can be tested directly and
called from the SMTP handler through `sync_to_async`. It returns only after the
transaction has committed; the caller answers 250 after that and 4xx if it raises.
"""

from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from . import events
from .mime import summarize
from .models import Inbox, Message


@dataclass
class SessionFacts:
    """What the SMTP session knew about the message besides its bytes."""

    mail_from: str = ""
    rcpt_tos: list[str] = field(default_factory=list)
    client_ip: str | None = None
    helo: str = ""
    tls_version: str = ""
    tls_cipher: str = ""
    auth_username: str = ""


def _next_seq(inbox_id: int) -> int:
    """Take the inbox's next sequence number (row-locked until commit)."""
    table = connection.ops.quote_name(Inbox._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq, max_messages",
            [inbox_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise Inbox.DoesNotExist(f"Inbox {inbox_id} does not exist")
    return row


def ingest(inbox_id: int, raw: bytes, facts: SessionFacts) -> Message:
    """Store `raw` in the inbox exactly as received, enforce the cap, commit."""
    summary = summarize(raw)
    with transaction.atomic():
        seq, max_messages = _next_seq(inbox_id)
        message = Message.objects.create(
            inbox_id=inbox_id,
            seq=seq,
            received_at=timezone.now(),
            envelope_from=facts.mail_from,
            envelope_to=list(facts.rcpt_tos),
            subject=summary.subject,
            from_header=summary.from_header,
            to_header=summary.to_header,
            cc_header=summary.cc_header,
            date=summary.date,
            message_id=summary.message_id,
            text_body=summary.text_body,
            has_attachments=summary.has_attachments,
            has_long_lines=summary.has_long_lines,
            parse_errors=summary.errors,
            client_ip=facts.client_ip,
            helo=facts.helo[:255],
            tls_version=facts.tls_version,
            tls_cipher=facts.tls_cipher,
            auth_username=facts.auth_username[:255],
            size=len(raw),
            raw=raw,
        )
        # Over the cap, the oldest go in the same transaction: one range delete.
        Message.objects.filter(inbox_id=inbox_id, seq__lte=seq - max_messages).delete()
        # robust: a channel layer outage must not turn a committed message into a 451.
        transaction.on_commit(lambda: events.message_received(message), robust=True)
    return message
