"""Group commit: messages that arrive while a write is in progress share the next one.

Under light load every message is written alone, as soon as it arrives. Under
load, the sessions waiting behind a running write are stored together in one
transaction, so a commit (and a hop to the database thread) is paid per batch
rather than per message. Every caller still gets its reply only after its
message is committed, or the exception that kept its own message out: a
message that fails (in reading or in the database) does not fail the others
of its batch (`inboxes.ingest.store_each`).
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from inboxes.ingest import Incoming, close_stale_connection, store_each
from metrics import instruments as metrics

MAX_BATCH_MESSAGES = 200
MAX_BATCH_BYTES = 32 * 1024 * 1024

# One thread stores all batches, one after the other, on its own database connection (a plain
# executor: asgiref's thread-sensitive hop copied contexts on every batch).
_storing_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="maildog-store")


# Seconds between looks at the storing connection's health (a round trip on PostgreSQL).
CONNECTION_CHECK_EVERY = 1.0


def _store_batch(items):
    close_stale_connection(at_most_every=CONNECTION_CHECK_EVERY)
    return store_each(items)


class BatchWriter:
    """Stores messages in group commits; `on_stored(messages)` hears of each group once committed."""

    def __init__(self, on_stored=None):
        self._pending: list[tuple[Incoming, asyncio.Future]] = []
        self._flushing = False
        self._on_stored = on_stored

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
