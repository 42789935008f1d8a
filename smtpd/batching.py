"""Group commit: messages that arrive while a write is in progress share the next one.

Under light load every message is written alone, as soon as it arrives. Under
load, the sessions waiting behind a running write are stored together in one
transaction, so a commit (and a hop to the database thread) is paid per batch
rather than per message. Every caller still gets its reply only after its
message is committed, or the exception that kept its own message out: a
message that fails (in reading or in the database) does not fail the others
of its batch (`inboxes.ingest.store_each`).

On SQLite the storing connection never checkpoints the write-ahead log itself
(`wal_autocheckpoint=0`): a checkpoint copies megabytes into the database and
syncs it to disk, and the messages of the batch whose commit crossed the
threshold would wait for it. `Checkpointer` runs a PASSIVE checkpoint (it
waits for no reader or writer) every CHECKPOINT_EVERY seconds on a thread of
its own, beside the storing. Durability is unchanged (`synchronous` is as the
settings say): only who copies the log into the database, and when, moves.
"""

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import DatabaseError, connection

from inboxes.ingest import Incoming, close_stale_connection, store_each
from metrics import instruments as metrics

log = logging.getLogger("maildog.smtp")

MAX_BATCH_MESSAGES = 200
MAX_BATCH_BYTES = 32 * 1024 * 1024

# One thread stores all batches, one after the other, on its own database connection (a plain
# executor: asgiref's thread-sensitive hop copied contexts on every batch).
_storing_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="maildog-store")


# Seconds between looks at the storing connection's health (a round trip on PostgreSQL).
CONNECTION_CHECK_EVERY = 1.0


# SQLite: seconds between checkpoints of the write-ahead log (the storing connection makes none).
CHECKPOINT_EVERY = 1.0
_leaves_checkpoints = None  # the storing thread's SQLite connection once it stopped checkpointing itself


def _store_batch(items):
    global _leaves_checkpoints
    close_stale_connection(at_most_every=CONNECTION_CHECK_EVERY)
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        if connection.connection is not _leaves_checkpoints:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_autocheckpoint=0")
            _leaves_checkpoints = connection.connection
    return store_each(items)


class Checkpointer:
    """SQLite: a thread that checkpoints the write-ahead log every CHECKPOINT_EVERY seconds (see module docs)."""

    def __init__(self, every: float = CHECKPOINT_EVERY):
        self.every = every
        self.checkpoints = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="maildog-checkpoint", daemon=True)

    def start(self) -> "Checkpointer":
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def checkpoint(self) -> None:
        close_stale_connection()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        self.checkpoints += 1

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.every):
                try:
                    self.checkpoint()
                except DatabaseError:
                    log.warning("SQLite checkpoint failed, trying again in %.0fs", self.every, exc_info=True)
            self.checkpoint()  # what the last commits wrote, before the process ends
        except DatabaseError:
            log.warning("SQLite checkpoint at shutdown failed", exc_info=True)
        finally:
            connection.close()


class BatchWriter:
    """Stores messages in group commits; `on_stored(messages)` hears of each group once committed."""

    def __init__(self, on_stored=None):
        self._pending: list[tuple[Incoming, asyncio.Future]] = []
        self._flushing = False
        self._on_stored = on_stored
        self.checkpointer: Checkpointer | None = None

    def start(self) -> None:
        """With SQLite, start checkpointing the log beside the storing (the storing connection makes none)."""
        if connection.vendor == "sqlite" and self.checkpointer is None:
            self.checkpointer = Checkpointer().start()

    def stop(self) -> None:
        """After the last message was stored: the last checkpoint, and the thread ends."""
        if self.checkpointer is not None:
            self.checkpointer.stop()
            self.checkpointer = None

    @property
    def busy(self) -> bool:
        """Messages are being stored (a write is running or waiting)."""
        return self._flushing

    async def store(self, item: Incoming):
        future = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if not self._flushing:
            self._flushing = True
            asyncio.ensure_future(self._flush())
        with metrics.storage_timer():
            return await future

    def _next_batch(self):
        batch: list[tuple[Incoming, asyncio.Future]] = []
        size = 0
        while self._pending and len(batch) < MAX_BATCH_MESSAGES:
            item, future = self._pending[0]
            if batch and size + len(item.raw) > MAX_BATCH_BYTES:
                break
            batch.append(self._pending.pop(0))
            size += len(item.raw)
        return batch

    async def _flush(self):
        try:
            while self._pending:
                batch = self._next_batch()
                try:
                    outcomes = await asyncio.get_running_loop().run_in_executor(
                        _storing_thread, _store_batch, [item for item, _ in batch]
                    )
                except Exception as exc:  # handed to every waiting session, which logs it and answers 451
                    outcomes = [exc] * len(batch)
                metrics.batch_stored([item for item, _ in batch], outcomes)
                if self._on_stored is not None:
                    self._on_stored([outcome for outcome in outcomes if not isinstance(outcome, BaseException)])
                for (_, future), outcome in zip(batch, outcomes):
                    if future.done():
                        continue
                    if isinstance(outcome, BaseException):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self._flushing = False
