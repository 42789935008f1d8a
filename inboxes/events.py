"""Live events: what the SMTP side tells open browsers and waiting API clients.

One channel-layer group per inbox; events are sent only after the data they
describe has been committed.

Live events are a convenience, mail is not: while the channel layer (Redis)
is unreachable, events are dropped, the outage is logged once when it starts
and once when it ends (`layer_health`), and senders carry on.
"""

import logging
import threading
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from . import summaries

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
    return {**summaries.message_summary(message), "url": message.get_absolute_url()}


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


async def amessage_received(message) -> None:
    """Announce a committed message from async code (the SMTP handler)."""
    await asend_to_inbox(message.inbox_id, new_message_event(message))
