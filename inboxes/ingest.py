"""Storing captured messages: the one place the SMTP side writes to the database.

The SMTP side stores through `store_each()` (via `smtpd.batching`), which
gives every message its own outcome: the stored `Message` or the exception
that kept it out; `ingest_many()` stores a group all or none. Both are plain
synchronous code, tested directly, and return only
after the commit; the SMTP handler answers 250 for a stored message and 451
for an exception.

A message that cannot be read (the summary raised) is stored raw with the
error in `parse_errors`. Strings that come from the session (envelope, HELO,
AUTH user) and from the summary are cleaned (`cleaning.clean_string`) before
they reach the database.
"""

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from .cleaning import clean_string
from .mime import Summary, summarize
from .models import Inbox, Message, SearchVectorField
from .raw_source import RawWriter

log = logging.getLogger("maildog.ingest")


@dataclass
class SessionFacts:
    """What the SMTP session knew about the message besides its bytes."""

    mail_from: str = ""
    rcpt_tos: list[str] = field(default_factory=list)
    client_ip: str | None = None
    helo: str = ""
    tls_version: str = ""
    tls_cipher: str = ""
    smtp_username: str = ""


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


def read_summary(raw: bytes) -> Summary:
    """The message's summary; when reading fails, an empty one that names the error.

    MemoryError is not caught: reading again or differently would only repeat
    the allocation, so that message fails alone (its own 451).
    """
    try:
        return summarize(raw)
    except MemoryError:
        raise
    except Exception as error:  # recorded on the message, which is stored raw
        log.warning("message summary failed, storing it raw: %s: %s", type(error).__name__, error)
        return Summary(errors=[f"The message could not be read ({type(error).__name__}: {error}); it is stored raw."])


def _date(value):
    # Only an aware datetime the database can hold; anything else is dropped.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    return None


def _build(item: Incoming, summary: Summary, seq: int, now, raw) -> Message:
    facts = item.facts
    message = Message(
        inbox_id=item.inbox_id,
        seq=seq,
        received_at=now,
        envelope_from=clean_string(facts.mail_from),
        envelope_to=[clean_string(address) for address in facts.rcpt_tos],
        subject=clean_string(summary.subject),
        from_header=clean_string(summary.from_header),
        to_header=clean_string(summary.to_header),
        cc_header=clean_string(summary.cc_header),
        date=_date(summary.date),
        message_id=clean_string(summary.message_id, 255),
        text_body=clean_string(summary.text_body),
        has_attachments=bool(summary.has_attachments),
        attachment_names="\n".join(clean_string(name, 255) for name in summary.attachment_names),
        has_long_lines=bool(summary.has_long_lines),
        parse_errors=[clean_string(error) for error in summary.errors],
        client_ip=facts.client_ip,
        helo=clean_string(facts.helo, 255),
        tls_version=clean_string(facts.tls_version, 32),
        tls_cipher=clean_string(facts.tls_cipher, 128),
        smtp_username=clean_string(facts.smtp_username, 255),
        size=len(item.raw),
        raw=raw,
    )
    if connection.vendor == "postgresql":
        # Its tsvector would cost about half as much again as the rest of storing it: the indexer
        # writes it after the 250 (inboxes.search.indexer). SQLite's FTS5 entries cost little and
        # are written here, by triggers, from the words pre_save makes.
        message.search_vector = SearchVectorField.INDEX_LATER
    return message


def ingest_many(items: list[Incoming], summaries: list[Summary] | None = None) -> list[Message]:
    """Store several messages in one transaction (all or none), in order.

    One commit for many messages is what lets the SMTP server keep up with
    many concurrent senders; each message still gets its own row, its inbox's
    next sequence number, and the cap is enforced once per inbox. A message
    whose summary fails is stored raw with the error (`read_summary`).
    `summaries` may be given when they were read already.
    """
    by_inbox: dict[int, list[int]] = {}
    for index, item in enumerate(items):
        by_inbox.setdefault(item.inbox_id, []).append(index)
    # Parsing happens before the transaction: the write lock is held only for writing.
    if summaries is None:
        summaries = [read_summary(item.raw) for item in items]
    built: dict[int, Message] = {}
    caps = {}
    now = timezone.now()
    with transaction.atomic():
        # The raw sources go to the database in pieces, not as one parameter each (see raw_source).
        raws = RawWriter([item.raw for item in items])
        for inbox_id, indexes in by_inbox.items():
            last_seq, max_messages = _take_seqs(inbox_id, len(indexes))
            first_seq = last_seq - len(indexes) + 1
            for offset, index in enumerate(indexes):
                built[index] = _build(items[index], summaries[index], first_seq + offset, now, raws.value(index))
            caps[inbox_id] = last_seq - max_messages
        messages = [built[index] for index in range(len(items))]
        Message.objects.bulk_create(messages)
        raws.finish(messages)
        # Over the cap, the oldest go in the same transaction: one range delete.
        for inbox_id, newest_to_drop in caps.items():
            if newest_to_drop > 0:
                Message.objects.filter(inbox_id=inbox_id, seq__lte=newest_to_drop).delete()
    return messages


# When each thread last looked at its connection (close_stale_connection with at_most_every).
_looked = threading.local()


def close_stale_connection(at_most_every: float = 0.0):
    """Drop this thread's database connection if it is broken or past its age, so the next query reconnects.

    Long-running processes (the SMTP listener, its worker threads) call it
    before each unit of work, as Django does between requests. Never inside an
    atomic block: closing there would break the caller's open transaction.

    On PostgreSQL each look costs a round trip (Django's health check, `SELECT 1`,
    before the next query). Callers that run many small units of work (a group
    commit, an AUTH lookup) pass `at_most_every` (seconds): the connection is
    then looked at that often, and at once after a database error on it (a
    broken connection costs the unit of work that found it, not the next one).
    """
    if connection.in_atomic_block:
        return
    now = time.monotonic()
    recently = now - getattr(_looked, "at", -at_most_every) < at_most_every
    if at_most_every and recently and not connection.errors_occurred:
        return
    _looked.at = now
    close_old_connections()


def store_each(items: list[Incoming]) -> list[Message | BaseException]:
    """Store a group of messages so that each one succeeds or fails on its own.

    Each message is read on its own (a failure there stores it raw, a
    MemoryError fails it alone). The readable ones are written in one
    transaction; if that fails, each is written again in a transaction of its
    own, so one message the database refuses costs only its own outcome.
    Returns, in order, the stored Message or the exception for each item.
    """
    outcomes: dict[int, Message | BaseException] = {}
    summaries: dict[int, Summary] = {}
    for index, item in enumerate(items):
        try:
            summaries[index] = read_summary(item.raw)
        except MemoryError as error:
            outcomes[index] = error
    readable = sorted(summaries)
    if not readable:
        return [outcomes[index] for index in range(len(items))]
    try:
        stored = ingest_many([items[i] for i in readable], [summaries[i] for i in readable])
    except Exception as error:  # each message is retried alone below; the error is logged
        if len(readable) == 1:
            outcomes[readable[0]] = error
            return [outcomes[index] for index in range(len(items))]
        log.warning(
            "group commit of %d messages failed (%s: %s); storing them one by one",
            len(readable),
            type(error).__name__,
            error,
        )
        for index in readable:
            close_stale_connection()
            try:
                outcomes[index] = ingest_many([items[index]], [summaries[index]])[0]
            except Exception as single_error:  # this message's own outcome: the SMTP side answers 451
                outcomes[index] = single_error
        return [outcomes[index] for index in range(len(items))]
    for index, message in zip(readable, stored):
        outcomes[index] = message
    return [outcomes[index] for index in range(len(items))]
