"""Storing a captured message: the one place the SMTP side writes to the database.

`ingest()` is plain synchronous code so that it can be tested directly and
called from the SMTP handler through `sync_to_async`. It returns only after the
transaction has committed; the caller answers 250 after that and 4xx if it
raises, and announces the message (`events.amessage_received`) from its event
loop, which saves a thread hop per message on the hot path.
"""

from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

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


@dataclass
class Incoming:
    """One message on its way into an inbox."""

    inbox_id: int
    raw: bytes
    facts: SessionFacts


def _take_seqs(inbox_id: int, count: int) -> tuple[int, int]:
    """Reserve `count` sequence numbers; return the last one and the inbox's cap.

    The UPDATE locks the inbox row until commit, so concurrent writers (other
    smtp processes) get distinct numbers.
    """
    table = connection.ops.quote_name(Inbox._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + %s WHERE id = %s RETURNING last_seq, max_messages",
            [count, inbox_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise Inbox.DoesNotExist(f"Inbox {inbox_id} does not exist")
    return row


def _build(item: Incoming, summary, seq: int, now) -> Message:
    facts = item.facts
    return Message(
        inbox_id=item.inbox_id,
        seq=seq,
        received_at=now,
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
        size=len(item.raw),
        raw=item.raw,
    )


def ingest_many(items: list[Incoming]) -> list[Message]:
    """Store several messages in one transaction (all or none), in order.

    One commit for many messages is what lets the SMTP server keep up with
    many concurrent senders; each message still gets its own row, its inbox's
    next sequence number, and the cap is enforced once per inbox.
    """
    by_inbox: dict[int, list[int]] = {}
    for index, item in enumerate(items):
        by_inbox.setdefault(item.inbox_id, []).append(index)
    # Parsing happens before the transaction: the write lock is held only for writing.
    summaries = [summarize(item.raw) for item in items]
    messages: list[Message | None] = [None] * len(items)
    caps = {}
    now = timezone.now()
    with transaction.atomic():
        for inbox_id, indexes in by_inbox.items():
            last_seq, max_messages = _take_seqs(inbox_id, len(indexes))
            first_seq = last_seq - len(indexes) + 1
            for offset, index in enumerate(indexes):
                messages[index] = _build(items[index], summaries[index], first_seq + offset, now)
            caps[inbox_id] = last_seq - max_messages
        Message.objects.bulk_create(messages)
        # Over the cap, the oldest go in the same transaction: one range delete.
        for inbox_id, newest_to_drop in caps.items():
            if newest_to_drop > 0:
                Message.objects.filter(inbox_id=inbox_id, seq__lte=newest_to_drop).delete()
    return messages


def ingest(inbox_id: int, raw: bytes, facts: SessionFacts) -> Message:
    """Store `raw` in the inbox exactly as received, enforce the cap, commit."""
    return ingest_many([Incoming(inbox_id, raw, facts)])[0]
