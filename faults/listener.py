"""Rule changes reach every SMTP process at once: a broadcast through the channel layer.

A change (`receivers.rules_changed`) invalidates this process's `RuleBook`
directly and sends `{"type": "faults.changed"}` to the group `FAULTS_GROUP`.
Each SMTP process listens to that group (`RuleListener`, started with the
listener) and invalidates its own book. The in-memory layer reaches only its
own process, where the direct invalidation already happened: no listener then.
If the layer is unreachable the listener retries with backoff, and the book's
`MAILDOG_FAULTS_REFRESH` bounds how stale a process can be meanwhile.
"""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import DEFAULT_CHANNEL_LAYER, InMemoryChannelLayer, channel_layers, get_channel_layer

from inboxes.events import LAYER_ERRORS, layer_health

from .book import FAULTS_GROUP, book

log = logging.getLogger("maildog.faults")

# Re-join the group this often: channels_redis forgets group members after a day.
REJOIN_EVERY = 3600.0
RETRY_FIRST, RETRY_MAX = 1.0, 30.0


def _shared_layer():
    layer = get_channel_layer()
    if layer is None or isinstance(layer, InMemoryChannelLayer):
        return None
    return layer


def broadcast_change() -> None:
    """Tell every process that rules changed (call after the commit, from synchronous code)."""
    book.invalidate()
    layer = _shared_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(FAULTS_GROUP, {"type": "faults.changed"})
    except LAYER_ERRORS as error:
        # Logged once per outage; other processes reload within MAILDOG_FAULTS_REFRESH seconds meanwhile.
        layer_health.failed(error)


class RuleListener:
    """Invalidates this process's rule book whenever another process changes a rule."""

    def __init__(self):
        self.task: asyncio.Task | None = None
        self.joined = asyncio.Event()

    def start(self) -> None:
        if _shared_layer() is not None and self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._listen())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None

    async def _listen(self) -> None:
        # A layer of its own: a channel layer receives on one event loop only, and in one
        # process (tests, `serve`) the process's default layer may serve other loops.
        layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        try:
            await self._receive(layer)
        finally:
            close = getattr(layer, "close_pools", None)
            if close is not None:
                await asyncio.shield(close())

    async def _receive(self, layer) -> None:
        delay = RETRY_FIRST
        while True:
            try:
                channel = await layer.new_channel("faults.")
                await layer.group_add(FAULTS_GROUP, channel)
                layer_health.answered()
                # Whatever changed while this process was not listening.
                book.invalidate()
                self.joined.set()
                delay = RETRY_FIRST
                while True:
                    try:
                        await asyncio.wait_for(layer.receive(channel), REJOIN_EVERY)
                    except asyncio.TimeoutError:
                        await layer.group_add(FAULTS_GROUP, channel)
                        continue
                    book.invalidate()
                    log.debug("fault rules changed elsewhere: reloading")
            except LAYER_ERRORS as error:
                self.joined.clear()
                # Logged once per outage, with the live updates (which need the same layer).
                layer_health.failed(error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
