"""Running the checks on a stored message, saving the results, telling open pages.

`check_message()` is plain synchronous code (tested directly, called by the
re-run view); `schedule_check()` runs it in the background from the SMTP
event loop, after the 250 has been said.
"""

import asyncio
import logging
import weakref

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.utils import timezone

from inboxes import events
from inboxes.models import Message

from . import dkim, dmarc, results, spf
from .dns import flush_cache, get_resolver

log = logging.getLogger("maildog.authchecks")

# At most this many checks run at once per event loop (each may wait on DNS
# in a thread); a burst of mail queues up behind them instead of taking every
# thread.
MAX_CONCURRENT_CHECKS = 4

_semaphores: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = weakref.WeakKeyDictionary()
_pending: set[asyncio.Task] = set()


def run_checks(raw: bytes, *, client_ip, mail_from: str, helo: str, from_header: str) -> dict:
    """DKIM, SPF and DMARC for one message's bytes and session facts (results.summarize's dict)."""
    resolver = get_resolver()
    dkim_results = dkim.check_dkim(raw, resolver)
    spf_result = spf.check_spf(client_ip, mail_from, helo)
    dmarc_result = dmarc.check_dmarc(from_header, dkim_results, spf_result, resolver)
    return results.summarize(dkim_results, spf_result, dmarc_result)


def checked_event(message) -> dict:
    return {"type": "message.checked", "message_id": message.pk, "verdict": message.auth_verdict}


def check_message(message_id: int, *, fresh: bool = False, notify: bool = True) -> Message | None:
    """Check a stored message, save the results on it and push `message.checked` after commit.

    `fresh` forgets cached DNS answers first (a re-run after fixing a record).
    `notify=False` leaves the event to the caller (the event loop sends it itself).
    Returns None when the message no longer exists (deleted, or pushed out by
    the inbox's cap).
    """
    message = Message.objects.defer(None).filter(pk=message_id).first()
    if message is None:
        return None
    if fresh:
        flush_cache()
    summary = run_checks(
        bytes(message.raw),
        client_ip=message.client_ip,
        mail_from=message.envelope_from,
        helo=message.helo,
        from_header=message.from_header,
    )
    message.auth_results = summary
    message.auth_verdict = summary["verdict"]
    message.auth_checked_at = timezone.now()
    # update(), not save(): the rest of the row (is_read, ...) may have changed meanwhile.
    Message.objects.filter(pk=message.pk).update(
        auth_results=message.auth_results,
        auth_verdict=message.auth_verdict,
        auth_checked_at=message.auth_checked_at,
    )
    if notify:
        event = checked_event(message)
        transaction.on_commit(lambda: events.send_to_inbox(message.inbox_id, event), robust=True)
    return message


def _check_in_thread(message_id: int) -> Message | None:
    # Checks run on any thread of the loop's executor: each opens its own
    # connection and closes it afterwards, so no idle pool thread keeps one.
    if not connection.in_atomic_block:
        close_old_connections()
    try:
        # The event is sent from the loop: a thread blocking on the loop could
        # hang forever if the loop stops (shutdown) while it waits.
        return check_message(message_id, notify=False)
    finally:
        if not connection.in_atomic_block:
            connection.close()


async def _run(message_id: int) -> None:
    loop = asyncio.get_running_loop()
    semaphore = _semaphores.setdefault(loop, asyncio.Semaphore(MAX_CONCURRENT_CHECKS))
    async with semaphore:
        try:
            # Not thread_sensitive: a slow DNS answer must not hold up the
            # thread that stores the next message.
            message = await sync_to_async(_check_in_thread, thread_sensitive=False)(message_id)
        except DatabaseError:
            # The message is stored either way; it stays "not checked" and can be re-run.
            log.exception("auth checks not saved message=%s", message_id)
            return
    if message is not None:
        await events.asend_to_inbox(message.inbox_id, checked_event(message))


def schedule_check(message_id: int) -> asyncio.Task | None:
    """Start the checks for a stored message in the background (call from the event loop).

    Fire and forget: the caller has answered or will answer 250 regardless.
    Does nothing when MAILDOG_AUTH_CHECKS is off.
    """
    if not settings.MAILDOG_AUTH_CHECKS:
        return None
    task = asyncio.get_running_loop().create_task(_run(message_id))
    # Keep a reference until done, so the task is not garbage-collected midway.
    _pending.add(task)
    task.add_done_callback(_pending.discard)
    return task
