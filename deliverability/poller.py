"""The checks in a process of their own (`manage.py runchecks`): find stored messages, queue them.

With `MAILDOG_AUTH_CHECKS_PROCESS` on, the SMTP processes only store mail and
answer; this process finds the messages still unchecked in the database and
hands them to the same queue and workers the SMTP process would use
(`service.CheckQueue`), so the checks run on another core than the one that
stores mail, and nothing is lost between the two: what is unchecked in the
database is what gets checked.

How new messages are found, cheaply at any table size:
- at start, the newest RESUME_LIMIT unchecked messages (what a previous run left);
- then every POLL_INTERVAL, unchecked messages with an id above the highest
  one queued so far (a range on the primary key);
- and every SWEEP_INTERVAL, unchecked messages above the highest id of the
  sweep before: a transaction that committed late (another SMTP process)
  with lower ids than ones already queued is picked up there.

The in-memory queue is bounded: while MAX_QUEUED messages wait, no more are
read; they stay unchecked in the database until the workers catch up.
"""

import asyncio
import logging

from django.db import DatabaseError, close_old_connections

from inboxes.models import Message

from .service import RESUME_LIMIT, CheckQueue, _unchecked_message_ids

log = logging.getLogger("maildog.deliverability")

POLL_INTERVAL = 0.2  # seconds between looks for new messages
SWEEP_INTERVAL = 15.0  # seconds between looks for messages committed late
MAX_QUEUED = 2000
READ_LIMIT = 1000  # ids read per look


def _unchecked_after(after_id: int, limit: int) -> list[int]:
    close_old_connections()
    return list(
        Message.objects.filter(pk__gt=after_id, deliverability_checked_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


class CheckPoller:
    """Feeds a CheckQueue from the database until `stop` is set."""

    def __init__(self, queue: CheckQueue):
        self.queue = queue
        self.cursor = 0  # the highest id queued so far
        self.sweep_floor = 0  # the cursor at the previous sweep

    async def _read(self, function, *args) -> list[int] | None:
        try:
            return await self.queue.run_in_worker(function, *args)
        except DatabaseError:
            log.warning("auth checks: could not look for unchecked messages, trying again", exc_info=True)
            return None

    def _queue(self, ids: list[int]) -> None:
        for message_id in ids:
            self.queue.add(message_id)
        if ids:
            self.cursor = max(self.cursor, max(ids))

    async def start(self, stop: asyncio.Event) -> int:
        """Queue what a previous run left (the newest RESUME_LIMIT); returns how many.

        While the database cannot be read, tries again every second until `stop` is set.
        """
        ids = await self._read(_unchecked_message_ids)
        while ids is None:
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
                return 0
            except asyncio.TimeoutError:
                ids = await self._read(_unchecked_message_ids)
        self._queue(ids)
        if len(ids) < RESUME_LIMIT:
            # All of them are queued: new ones have higher ids.
            self.sweep_floor = self.cursor
        return len(ids)

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = loop.time() + SWEEP_INTERVAL
        while not stop.is_set():
            if len(self.queue) < MAX_QUEUED:
                if loop.time() >= next_sweep:
                    floor, self.sweep_floor = self.sweep_floor, self.cursor
                    ids = await self._read(_unchecked_after, floor, MAX_QUEUED)
                    next_sweep = loop.time() + SWEEP_INTERVAL
                else:
                    ids = await self._read(_unchecked_after, self.cursor, READ_LIMIT)
                if ids:
                    self._queue(ids)
                    if len(ids) == READ_LIMIT:
                        continue  # more are waiting: read on at once
            try:
                await asyncio.wait_for(stop.wait(), POLL_INTERVAL)
            except asyncio.TimeoutError:
                pass
