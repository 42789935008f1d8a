"""Live events: what the SMTP side tells open browsers and waiting API clients.

One channel-layer group per inbox; events are sent only after the data they
describe has been committed.

Live events are a convenience, mail is not: while the channel layer (Redis)
is unreachable, events are dropped, the outage is logged once when it starts
and once when it ends (`layer_health`), and senders carry on.
"""

import asyncio
import logging
import threading
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from . import summaries
from .links import message_url

try:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError:  # the in-memory layer only: no Redis client installed
    RedisConnectionError = RedisTimeoutError = OSError

log = logging.getLogger("maildog.events")

# What a channel layer raises when its server cannot be reached.
LAYER_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)


class LayerHealth:
    """Whether the channel layer answered last time; logs each change once (per process)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.down_since: float | None = None

    def failed(self, error: BaseException) -> None:
        with self._lock:
            first = self.down_since is None
            if first:
                self.down_since = time.monotonic()
        if first:
            log.warning(
                "channel layer unreachable, live updates paused until it is back: %s: %s", type(error).__name__, error
            )

    def answered(self) -> None:
        if self.down_since is None:
            return
        with self._lock:
            since, self.down_since = self.down_since, None
        if since is not None:
            log.warning("channel layer reachable again after %.1fs, live updates resumed", time.monotonic() - since)


layer_health = LayerHealth()


def inbox_group(inbox_id: int) -> str:
    return f"inbox-{inbox_id}"


def message_summary(message) -> dict:
    """The one message summary (`inboxes.summaries`), with `url` the message's page."""
    return {**summaries.message_summary(message), "url": message_url(message.inbox_id, message.pk)}


async def asend_to_inbox(inbox_id: int, event: dict) -> None:
    """Send `event` to the inbox's group; dropped (see `layer_health`) while the layer is unreachable."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(inbox_group(inbox_id), event)
    except LAYER_ERRORS as error:
        layer_health.failed(error)
        return
    layer_health.answered()


def send_to_inbox(inbox_id: int, event: dict) -> None:
    """From synchronous code (views, after commit)."""
    async_to_sync(asend_to_inbox)(inbox_id, event)


def new_message_event(message) -> dict:
    return {"type": "message.new", "message": message_summary(message)}


def new_messages_event(messages) -> dict:
    """One event for several new messages of one inbox, in `seq` order (consumers pass each on)."""
    return {"type": "messages.new", "messages": [message_summary(message) for message in messages]}


async def amessage_received(message) -> None:
    """Announce a committed message from async code."""
    await asend_to_inbox(message.inbox_id, new_message_event(message))


async def amessages_received(messages) -> None:
    """Announce committed messages from async code: one event per inbox, messages in `seq` order."""
    by_inbox: dict[int, list] = {}
    for message in messages:
        by_inbox.setdefault(message.inbox_id, []).append(message)
    for inbox_id, stored in by_inbox.items():
        stored.sort(key=lambda message: message.seq)
        await asend_to_inbox(inbox_id, new_messages_event(stored))


class Announcer:
    """Announces stored messages in the order they were committed, without delaying anyone.

    `announce()` queues a group (one group commit) and returns; one task sends
    the groups one after the other, so the events of an inbox leave this
    process in `seq` order (a task per message let a later one overtake an
    earlier one) and a group costs one channel-layer message per inbox.
    """

    def __init__(self):
        self._groups: list[list] = []
        self._task: asyncio.Task | None = None

    def announce(self, messages: list) -> None:
        if not messages:
            return
        self._groups.append(messages)
        if self._task is None:
            self._task = asyncio.ensure_future(self._send())

    async def _send(self) -> None:
        try:
            while self._groups:
                messages = [message for group in self._groups for message in group]
                self._groups.clear()
                try:
                    await amessages_received(messages)
                except Exception:  # the messages are stored; only their live notification is lost
                    log.exception("live events for %d messages could not be sent", len(messages))
        finally:
            self._task = None

    async def drain(self, timeout: float) -> None:
        """Wait (up to `timeout` seconds) until every queued group was sent."""
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=timeout)
