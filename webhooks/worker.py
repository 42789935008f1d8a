"""The webhook worker: a thread per process that queues deliveries for new events and sends due ones.

The SMTP side only hands it message ids (`notify`, from the signal receivers,
after the 250): nothing here ever delays a reply. The worker writes a
delivery row per subscribed webhook, then sends what is due, a few at a time
on a small thread pool (one slow endpoint does not hold up the others).
Deliveries live in the database: after a restart, or in another process,
pending ones are found and sent when due (`claim_due` keeps two workers from
sending the same one). The worker looks at the database when woken and at
least every POLL seconds.
"""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections

from . import deliveries

log = logging.getLogger("maildog.webhooks")

POLL = 5.0  # seconds
# Rounds (each a few queries) at most this often: during a flood of mail the worker wakes for
# every message, and a round per message cost the SMTP process about 30% of its CPU and held the
# GIL against its event loop (live events, replies). Events wait at most this long to be queued.
ROUND_INTERVAL = 0.2  # seconds
BATCH = 10
SENDERS = 4


def _deliver(delivery) -> None:
    close_old_connections()
    try:
        deliveries.deliver(delivery)
    except DatabaseError:
        # The attempt may have been made; its delivery stays claimed until the hold passes, then is tried again.
        log.warning("webhook delivery %s: outcome not saved (database error)", delivery.pk, exc_info=True)


class WebhookWorker:
    def __init__(self):
        self._lock = threading.Lock()
        self._events: list[tuple[str, int, int]] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._senders = ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="maildog-webhook")
        self._thread = threading.Thread(target=self._run, name="maildog-webhooks", daemon=True)

    def start(self) -> "WebhookWorker":
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def notify(self, event: str, messages) -> None:
        """Queue `event` for these (message id, inbox id) pairs (thread-safe, returns at once)."""
        with self._lock:
            self._events.extend((event, message_id, inbox_id) for message_id, inbox_id in messages)
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float) -> None:
        """Save the events not yet queued (they are delivered after the next start), then stop."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        # Each sender thread closes its own database connection: one call per thread, each waiting for the others.
        barrier = threading.Barrier(SENDERS, timeout=max(1.0, timeout))

        def close_connection():
            connections.close_all()
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass  # a sender was still busy: its connection closes with the process

        wait([self._senders.submit(close_connection) for _ in range(SENDERS)], timeout=max(1.0, timeout) + 1)
        self._senders.shutdown(wait=False)

    def _take_events(self) -> list[tuple[str, int, int]]:
        with self._lock:
            events, self._events = self._events, []
        return events

    def _queue_events(self) -> None:
        events = self._take_events()
        if not events:
            return
        try:
            deliveries.queue_events(events)
        except DatabaseError:
            with self._lock:
                self._events[:0] = events  # kept for the next round
            raise

    def _send_due(self) -> None:
        hold = settings.MAILDOG_WEBHOOK_TIMEOUT * 3 + 5
        while not self._stop.is_set():
            due = deliveries.claim_due(BATCH, hold)
            if not due:
                return
            wait([self._senders.submit(_deliver, delivery) for delivery in due])

    def _run(self) -> None:
        timeout = 0.0
        last_round = float("-inf")
        try:
            while not self._stop.is_set():
                self._wake.wait(timeout)
                # The events of the next ROUND_INTERVAL join this round (the first after a quiet spell goes at once).
                pause = last_round + ROUND_INTERVAL - time.monotonic()
                if pause > 0:
                    self._stop.wait(pause)
                last_round = time.monotonic()
                self._wake.clear()
                if self._stop.is_set():
                    break
                try:
                    close_old_connections()
                    self._queue_events()
                    self._send_due()
                    due_in = deliveries.seconds_until_next_due()
                    timeout = POLL if due_in is None else min(POLL, due_in)
                except DatabaseError:
                    log.warning("webhooks: database unavailable, trying again in %.0fs", POLL, exc_info=True)
                    timeout = POLL
            try:
                self._queue_events()
            except DatabaseError:
                log.warning("webhooks: %d events not queued at shutdown", len(self._events), exc_info=True)
        finally:
            connections.close_all()


_worker: WebhookWorker | None = None
_started = False  # between the SMTP service's start and stop (inboxes.signals)
_worker_lock = threading.Lock()


def worker(*, start: bool = False) -> WebhookWorker | None:
    """This process's worker while its SMTP service runs (`start` at its start); None before and after."""
    global _worker, _started
    with _worker_lock:
        if start:
            _started = True
        if not _started:
            return None
        if _worker is None or not _worker.running:
            _worker = WebhookWorker().start()
        return _worker


def stop_worker(timeout: float) -> None:
    global _worker, _started
    with _worker_lock:
        running, _worker, _started = _worker, None, False
    if running is not None:
        running.stop(timeout)
