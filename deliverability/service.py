"""Running the checks on stored messages, saving the results, telling open pages.

`check_message()` and `check_messages()` are plain synchronous code (tested
directly, called by the re-run view); `schedule_check()` queues a message from
the SMTP event loop, after the 250 has been said, for a few worker threads.
A worker takes up to BATCH_SIZE queued ids, loads their session facts in one
query and each message's raw source on its own (a worker holds one message's
bytes at a time), checks them one after the other and saves the batch in one
transaction, so a burst of mail costs the database little.

Failures stay where they happen:
- a check library that raises on a message records the verdict "error" on
  that message (with the reason), and the worker goes on;
- a database error re-queues the batch after a delay that doubles from
  RETRY_FIRST up to RETRY_MAX seconds, so checks that failed during a
  database outage are done once it is back;
- stopping (`close_check_queue`) makes further DNS lookups fail at once and
  ends the work between messages; what was not checked keeps
  `deliverability_checked_at` empty and `resume_checks()` queues it at the next start.
"""

import asyncio
import copy
import logging
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, connections, transaction
from django.utils import timezone

from inboxes import events
from inboxes.models import Message
from inboxes.raw_source import load_raw, load_small_raws
from metrics import instruments as metrics
from reports import service as reports

from . import dkim, dmarc, results, spf
from .dns import flush_cache, get_resolver, interrupt_lookups_on
from .signals import checks_finished

log = logging.getLogger("maildog.deliverability")

# Worker threads per event loop: a slow DNS answer holds up one of them, not
# the thread that stores mail. Each takes up to BATCH_SIZE queued messages;
# small batches keep the results of a batch flowing and its save short.
WORKERS = 2
BATCH_SIZE = 20
# Longest a batch of checks waits for storing to pause (seconds).
MAX_YIELD = 1.0
# Re-queue delays after a database error (seconds), doubling in between.
RETRY_FIRST = 1.0
RETRY_MAX = 60.0

# What the checks read besides the raw source, which is loaded per message.
FACT_FIELDS = ("id", "inbox_id", "received_at", "client_ip", "envelope_from", "helo", "from_header")


def run_checks(
    raw: bytes, *, client_ip, mail_from: str, helo: str, from_header: str, batch: dict | None = None
) -> dict:
    """DKIM, SPF and DMARC for one message's bytes and session facts (results.summarize's dict).

    `batch`, a dict shared by the messages of one batch, keeps what depends on the session facts
    alone (the SPF result, the DMARC policy of the From domain): a burst of mail from one
    application evaluates them once, where each message cost several cached DNS lookups and
    pyspf's evaluation. DKIM depends on each message's bytes and is always verified.
    """
    resolver = get_resolver()
    dkim_results = dkim.check_dkim(raw, resolver)
    if batch is None:
        batch = {}
    spf_key = ("spf", client_ip, mail_from, helo)
    if spf_key not in batch:
        batch[spf_key] = spf.check_spf(client_ip, mail_from, helo)
    spf_result = copy.deepcopy(batch[spf_key])  # each message's results are its own
    dmarc_result = dmarc.check_dmarc(from_header, dkim_results, spf_result, resolver, policies=batch)
    return results.summarize(dkim_results, spf_result, dmarc_result)


def check_one(message: Message, raw: bytes, batch: dict | None = None) -> dict:
    """The results for one message; when a check library raises, results.error_summary (verdict "error")."""
    try:
        return run_checks(
            raw,
            client_ip=message.client_ip,
            mail_from=message.envelope_from,
            helo=message.helo,
            from_header=message.from_header,
            batch=batch,
        )
    except Exception as error:  # recorded on the message (verdict "error") and logged with its traceback
        log.exception("auth checks failed on message %s", message.pk)
        return results.error_summary(error)


def checked_event(message) -> dict:
    event = {"type": "message.checked", "message_id": message.pk, "verdict": message.deliverability_verdict}
    return {**event, "report": reports.counts(message)}


def _raw_source(message_id: int) -> bytes | None:
    # load_raw: on PostgreSQL the ORM would read bytea as hex text (about 4x the message at once).
    try:
        return load_raw(message_id)
    except Message.DoesNotExist:
        return None


def check_messages(message_ids, stop: threading.Event | None = None) -> list[Message]:
    """Check stored messages one at a time and save all their results (and reports) in one transaction.

    Messages that no longer exist (deleted, or pushed out by the inbox's cap)
    are skipped. Once `stop` is set, checking ends before the next message and
    the result being computed is dropped (its DNS lookups were cut short):
    those messages stay unchecked. Returns the messages whose results were
    saved. No event is sent: the caller tells open pages.
    """
    messages = list(Message.objects.filter(pk__in=message_ids).only(*FACT_FIELDS))
    # Most raw sources in one query; the large ones are read one at a time, in pieces (_raw_source).
    small_raws = load_small_raws([message.pk for message in messages])
    checked_at = timezone.now()
    checked = []
    report_settings: dict = {}  # each inbox's report settings, read once for the batch
    lookups: dict = {}  # SPF results and DMARC policies by session facts, for the batch (run_checks)
    for message in messages:
        if stop is not None and stop.is_set():
            break
        raw = small_raws.pop(message.pk, None)
        if raw is None:
            raw = _raw_source(message.pk)
        if raw is None:
            continue
        summary = check_one(message, raw, lookups)
        reports.run(message, raw, stop, report_settings)  # the message report: one more step (the reports app)
        del raw
        if stop is not None and stop.is_set():
            break
        message.deliverability_results = summary
        message.deliverability_verdict = summary["verdict"]
        message.deliverability_checked_at = checked_at
        checked.append(message)
    # One transaction for the verdicts and the reports: the write lock (SQLite) or the commit's
    # flush (PostgreSQL) that storing mail waits for is taken once per batch.
    with transaction.atomic():
        save_results(checked)
        reports.save(checked)
    return checked


RESULT_FIELDS = ("deliverability_results", "deliverability_verdict", "deliverability_checked_at")


def save_results(messages: list[Message]) -> None:
    """Write the checks' three fields of `messages` in one statement (one transaction).

    Only these fields: the rest of the row (is_read, ...) may have changed
    meanwhile. Django's bulk_update builds a CASE WHEN per field and row, which
    cost more than the checks themselves; here PostgreSQL gets one
    UPDATE ... FROM (VALUES ...), SQLite one prepared UPDATE run for each row.
    """
    if not messages:
        return
    fields = [Message._meta.get_field(name) for name in RESULT_FIELDS]
    table = connection.ops.quote_name(Message._meta.db_table)
    columns = [connection.ops.quote_name(field.column) for field in fields]
    rows = [
        [field.get_db_prep_save(getattr(message, field.attname), connection) for field in fields] + [message.pk]
        for message in messages
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            values = ", ".join(["(%s::jsonb, %s::text, %s::timestamptz, %s::bigint)"] * len(rows))
            assignments = ", ".join(f"{column} = v.c{n}" for n, column in enumerate(columns))
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM (VALUES {values}) AS v(c0, c1, c2, id) WHERE {table}.id = v.id",
                [param for row in rows for param in row],
            )
        else:
            assignments = ", ".join(f"{column} = %s" for column in columns)
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE id = %s", rows)


def check_message(message_id: int, *, fresh: bool = False) -> Message | None:
    """Check one stored message, save the results and push `message.checked` after commit.

    `fresh` forgets cached DNS answers first (a re-run after fixing a record).
    Returns None when the message no longer exists.
    """
    if fresh:
        flush_cache()
        spf.forget_reviews()
    messages = check_messages([message_id])
    if not messages:
        return None
    message = messages[0]
    event = checked_event(message)

    def after_commit():
        events.send_to_inbox(message.inbox_id, event)
        checks_finished.send(sender=CheckQueue, messages=messages)

    transaction.on_commit(after_commit, robust=True)
    return message


def _check_batch(message_ids, stop: threading.Event) -> list[Message]:
    # A worker thread keeps its connection between batches; drop it if the
    # database closed it or it is past its age.
    close_old_connections()
    interrupt_lookups_on(stop)
    try:
        return check_messages(message_ids, stop)
    finally:
        interrupt_lookups_on(None)


class CheckQueue:
    """Stored messages waiting for their checks, for one event loop."""

    def __init__(self, batch_size: int = BATCH_SIZE):
        self.batch_size = batch_size
        self._ids: list[int] = []
        self._pending: set[int] = set()  # queued or being checked: added once
        self._workers: set[asyncio.Task] = set()
        self._executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="maildog-checks")
        self._mail_is_waiting = lambda: False
        self._stop = threading.Event()
        self._retry_delay = RETRY_FIRST
        self._retries: list[asyncio.TimerHandle] = []

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

    def add(self, message_id: int) -> asyncio.Task | None:
        """Queue a message; returns the worker task that will check it (None once closing)."""
        if self._stop.is_set():
            return None
        if message_id not in self._pending:
            self._pending.add(message_id)
            self._ids.append(message_id)
            metrics.check_queue_length(len(self._ids))
        if len(self._workers) < WORKERS:
            worker = asyncio.get_running_loop().create_task(self._work())
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
            return worker
        return next(iter(self._workers))

    async def run_in_worker(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    def retry_later(self, callback, *args) -> float:
        """Call `callback(*args)` on the loop after the current retry delay (which then doubles); returns it."""
        delay = self._retry_delay
        self._retry_delay = min(delay * 2, RETRY_MAX)
        loop = asyncio.get_running_loop()
        self._retries = [handle for handle in self._retries if handle.when() > loop.time()]
        self._retries.append(loop.call_later(delay, callback, *args))
        return delay

    def __len__(self) -> int:
        """Messages queued or being checked."""
        return len(self._pending)

    def _requeue(self, message_ids) -> None:
        for message_id in message_ids:
            self.add(message_id)

    async def _work(self) -> None:
        while self._ids and not self._stop.is_set():
            await self._let_mail_go_first()
            if not self._ids or self._stop.is_set():
                break
            batch, self._ids = self._ids[: self.batch_size], self._ids[self.batch_size :]
            metrics.check_queue_length(len(self._ids))
            try:
                messages = await self.run_in_worker(_check_batch, batch, self._stop)
            except DatabaseError:
                self._pending.difference_update(batch)
                # The messages are stored either way; their checks are tried again once the database answers.
                delay = self.retry_later(self._requeue, batch)
                log.warning(
                    "auth checks not saved (database error), retrying %d messages in %.0fs",
                    len(batch),
                    delay,
                    exc_info=True,
                )
                continue
            self._pending.difference_update(batch)
            self._retry_delay = RETRY_FIRST
            # Sent from the loop: a thread blocking on a stopped loop (shutdown) would hang.
            # One event per inbox for the whole batch: the open pages get one `message.checked` frame each.
            by_inbox: dict[int, list[dict]] = {}
            for message in messages:
                by_inbox.setdefault(message.inbox_id, []).append(checked_event(message))
            for inbox_id, checked in by_inbox.items():
                await events.asend_to_inbox(inbox_id, {"type": "messages.checked", "checked": checked})
            metrics.checks_finished(messages, timezone.now())
            await checks_finished.asend(sender=CheckQueue, messages=messages)

    async def _wait_idle(self, timeout: float) -> bool:
        """Wait up to `timeout` for the workers to finish (without cancelling them); True if they did."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._workers:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.wait(set(self._workers), timeout=remaining)
        return True

    async def close(self, timeout: float) -> None:
        """Finish within `timeout` seconds: check what is queued while there is time, then stop.

        Queued checks go on until one DNS timeout (and a second) before the
        deadline. Then lookups fail at once, the workers stop between
        messages, and results cut short are not saved; the messages left
        unchecked are picked up by `resume_checks()` at the next start.
        Finally the workers' database connections are closed.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for handle in self._retries:
            handle.cancel()
        finish_by = timeout - float(settings.MAILDOG_DNS_TIMEOUT) - 1.0
        if not (finish_by > 0 and await self._wait_idle(finish_by)):
            self._stop.set()
            if self._ids or self._workers:
                log.warning("auth checks left for the next start: %d queued messages", len(self._ids))
            self._ids.clear()
            self._pending.clear()
            if not await self._wait_idle(max(0.1, deadline - loop.time())):
                for worker in list(self._workers):
                    worker.cancel()
                await asyncio.gather(*self._workers, return_exceptions=True)
        self._stop.set()
        # One call per worker thread: each waits for the others, so none can take two.
        remaining = max(1.0, deadline - loop.time())
        barrier = threading.Barrier(WORKERS, timeout=remaining)

        def close_connections():
            connections.close_all()
            barrier.wait()

        closing = [loop.run_in_executor(self._executor, close_connections) for _ in range(WORKERS)]
        done, _ = await asyncio.wait(closing, timeout=remaining + 1)
        if len(done) < WORKERS:
            log.warning("auth checks: a worker was still busy at shutdown; its connection closes with the process")
        self._executor.shutdown(wait=False)


_queues: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CheckQueue]" = weakref.WeakKeyDictionary()


def check_queue(batch_size: int = BATCH_SIZE) -> CheckQueue:
    """This event loop's queue (made with `batch_size` on first use)."""
    loop = asyncio.get_running_loop()
    if loop not in _queues:
        _queues[loop] = CheckQueue(batch_size)
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
        Message.objects.filter(deliverability_checked_at__isnull=True)
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
        # Mail can still be taken (and answered 451 while the database is away); look again later.
        delay = queue.retry_later(_resume_soon)
        log.warning("auth checks: could not look for unchecked messages, trying again in %.0fs", delay, exc_info=True)
        return 0
    for message_id in ids:
        queue.add(message_id)
    return len(ids)


_resuming: set[asyncio.Task] = set()


def _resume_soon() -> None:
    task = asyncio.ensure_future(resume_checks())
    _resuming.add(task)
    task.add_done_callback(_resuming.discard)


def schedule_check(message_id: int) -> asyncio.Task | None:
    """Queue the checks for a stored message (call from the event loop).

    Fire and forget: the caller has answered or will answer 250 regardless.
    Returns the worker task that will handle it; nothing when
    MAILDOG_AUTH_CHECKS is off.
    """
    if not settings.MAILDOG_AUTH_CHECKS:
        return None
    return check_queue().add(message_id)
