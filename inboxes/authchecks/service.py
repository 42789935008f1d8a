"""Running the checks on stored messages, saving the results, telling open pages.

`check_message()` and `check_messages()` are plain synchronous code (tested
directly, called by the re-run view); `schedule_check()` queues a message from
the SMTP event loop, after the 250 has been said, for a few worker threads that
check queued messages in batches: one query to load a batch, one transaction
to save it, so a burst of mail costs the database little.
"""

import asyncio
import logging
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections, transaction
from django.utils import timezone

from inboxes import events
from inboxes.models import Message

from . import dkim, dmarc, results, spf
from .dns import flush_cache, get_resolver

log = logging.getLogger("maildog.authchecks")

# Worker threads per event loop: a slow DNS answer holds up one of them, not
# the thread that stores mail. Each takes up to BATCH_SIZE queued messages.
WORKERS = 2
BATCH_SIZE = 100
# Longest a batch of checks waits for storing to pause (seconds).
MAX_YIELD = 1.0


def run_checks(raw: bytes, *, client_ip, mail_from: str, helo: str, from_header: str) -> dict:
    """DKIM, SPF and DMARC for one message's bytes and session facts (results.summarize's dict)."""
    resolver = get_resolver()
    dkim_results = dkim.check_dkim(raw, resolver)
    spf_result = spf.check_spf(client_ip, mail_from, helo)
    dmarc_result = dmarc.check_dmarc(from_header, dkim_results, spf_result, resolver)
    return results.summarize(dkim_results, spf_result, dmarc_result)


def checked_event(message) -> dict:
    return {"type": "message.checked", "message_id": message.pk, "verdict": message.auth_verdict}


def check_messages(message_ids) -> list[Message]:
    """Check stored messages and save all their results in one transaction.

    Messages that no longer exist (deleted, or pushed out by the inbox's cap)
    are skipped. No event is sent: the caller tells open pages.
    """
    messages = list(Message.objects.defer(None).filter(pk__in=message_ids))
    checked_at = timezone.now()
    for message in messages:
        summary = run_checks(
            bytes(message.raw),
            client_ip=message.client_ip,
            mail_from=message.envelope_from,
            helo=message.helo,
            from_header=message.from_header,
        )
        message.auth_results = summary
        message.auth_verdict = summary["verdict"]
        message.auth_checked_at = checked_at
    # Only these fields: the rest of the row (is_read, ...) may have changed meanwhile.
    Message.objects.bulk_update(messages, ["auth_results", "auth_verdict", "auth_checked_at"])
    return messages


def check_message(message_id: int, *, fresh: bool = False) -> Message | None:
    """Check one stored message, save the results and push `message.checked` after commit.

    `fresh` forgets cached DNS answers first (a re-run after fixing a record).
    Returns None when the message no longer exists.
    """
    if fresh:
        flush_cache()
    messages = check_messages([message_id])
    if not messages:
        return None
    message = messages[0]
    event = checked_event(message)
    transaction.on_commit(lambda: events.send_to_inbox(message.inbox_id, event), robust=True)
    return message


def _check_batch(message_ids) -> list[Message]:
    # A worker thread keeps its connection between batches; drop it if the
    # database closed it or it is past its age.
    close_old_connections()
    return check_messages(message_ids)


class CheckQueue:
    """Stored messages waiting for their checks, for one event loop."""

    def __init__(self):
        self._ids: list[int] = []
        self._workers: set[asyncio.Task] = set()
        self._executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="maildog-checks")
        self._mail_is_waiting = lambda: False

    def yield_to(self, mail_is_waiting) -> None:
        """Let storing mail go first: before each batch, wait (a while) as long as
        `mail_is_waiting()` says messages are being stored.

        The 250 waits for storing, nobody waits for the checks; so under load
        the CPU goes to storing, and the checks catch up between bursts. Each
        batch waits at most MAX_YIELD seconds, so checks never stop entirely.
        """
        self._mail_is_waiting = mail_is_waiting

    async def _let_mail_go_first(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MAX_YIELD
        while self._mail_is_waiting() and loop.time() < deadline:
            await asyncio.sleep(0.01)

    def add(self, message_id: int) -> asyncio.Task:
        self._ids.append(message_id)
        if len(self._workers) < WORKERS:
            worker = asyncio.get_running_loop().create_task(self._work())
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
            return worker
        return next(iter(self._workers))

    async def run_in_worker(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def _wait_idle(self) -> None:
        while self._workers:
            await asyncio.gather(*self._workers, return_exceptions=True)

    async def _work(self) -> None:
        while self._ids:
            await self._let_mail_go_first()
            if not self._ids:
                break
            batch, self._ids = self._ids[:BATCH_SIZE], self._ids[BATCH_SIZE:]
            try:
                messages = await self.run_in_worker(_check_batch, batch)
            except DatabaseError:
                # The messages are stored either way; they stay "not checked" and can be re-run.
                log.exception("auth checks not saved messages=%s", batch)
                continue
            # Sent from the loop: a thread blocking on a stopped loop (shutdown) would hang.
            for message in messages:
                await events.asend_to_inbox(message.inbox_id, checked_event(message))

    async def close(self, timeout: float) -> None:
        """Wait up to `timeout` for queued checks, then close the workers' database connections.

        Checks still queued then are dropped; `resume_checks()` picks them up at the next start.
        """
        try:
            await asyncio.wait_for(self._wait_idle(), timeout)
        except asyncio.TimeoutError:
            log.warning("auth checks left for the next start: %d messages", len(self._ids))
            self._ids.clear()
            for worker in list(self._workers):
                worker.cancel()
            await asyncio.gather(*self._workers, return_exceptions=True)
        # One call per worker thread: each waits for the others, so none can take two.
        barrier = threading.Barrier(WORKERS, timeout=10)

        def close_connections():
            connections.close_all()
            barrier.wait()

        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._executor, close_connections) for _ in range(WORKERS)))
        self._executor.shutdown(wait=False)


_queues: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CheckQueue]" = weakref.WeakKeyDictionary()


def check_queue() -> CheckQueue:
    loop = asyncio.get_running_loop()
    if loop not in _queues:
        _queues[loop] = CheckQueue()
    return _queues[loop]


async def close_check_queue(timeout: float) -> None:
    """Finish this loop's queued checks (for up to `timeout`) and release their connections."""
    queue = _queues.pop(asyncio.get_running_loop(), None)
    if queue is not None:
        await queue.close(timeout)


RESUME_LIMIT = 10_000


def _unchecked_message_ids() -> list[int]:
    close_old_connections()
    return list(
        Message.objects.filter(auth_checked_at__isnull=True)
        .order_by("-pk")
        .values_list("pk", flat=True)[:RESUME_LIMIT]
    )


async def resume_checks() -> int:
    """Queue the checks that a previous process did not finish (the newest first)."""
    if not settings.MAILDOG_AUTH_CHECKS:
        return 0
    queue = check_queue()
    try:
        ids = await queue.run_in_worker(_unchecked_message_ids)
    except DatabaseError:
        # Mail can still be taken (and answered 451 while the database is away).
        log.exception("auth checks: could not look for unchecked messages")
        return 0
    for message_id in ids:
        queue.add(message_id)
    return len(ids)


def schedule_check(message_id: int) -> asyncio.Task | None:
    """Queue the checks for a stored message (call from the event loop).

    Fire and forget: the caller has answered or will answer 250 regardless.
    Returns the worker task that will handle it; nothing when
    MAILDOG_AUTH_CHECKS is off.
    """
    if not settings.MAILDOG_AUTH_CHECKS:
        return None
    return check_queue().add(message_id)
