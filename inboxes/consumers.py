"""Live updates for open pages.

`InboxConsumer` (/ws/inboxes/<id>/) streams one inbox's new messages (and the
checks' verdicts) to an open message list. A client that reconnects sends
`{"type": "catch_up", "after_seq": N}` and receives what arrived after N.

`UnreadConsumer` (/ws/unread/) keeps the sidebar's unread counts current for
every inbox of the user's teams.

Who may join is the access policy's (`inboxes.access`): it is asked in
`connect()`, and again (at most every MEMBERSHIP_RECHECK seconds) before each
event is passed on, so someone removed from a team stops receiving its mail.

While the channel layer (Redis) is unreachable, a websocket is closed with
1013 (try again later) instead of failing with an error; the page's script
reconnects with backoff and catches up once the layer is back.
"""

import asyncio
import logging
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from metrics import instruments as metrics

from . import access
from .events import LAYER_ERRORS, inbox_group, layer_health, message_summary
from .models import Message
from .unread import UNREAD_WINDOW, unread_counts_for_ids

CATCH_UP_LIMIT = 200
# Unread counts after new mail are sent at most this often (seconds) per page: one query for a burst.
UNREAD_COALESCE = 0.25
MEMBERSHIP_RECHECK = 30  # seconds
# RFC 6455 7.4.1 "Try Again Later": the live updates' server side is unavailable.
CLOSE_LAYER_UNAVAILABLE = 1013

log = logging.getLogger("maildog.live")


@database_sync_to_async
def _can_see_inbox(user, inbox_id) -> bool:
    return access.can_see_inbox(user, inbox_id)


@database_sync_to_async
def _messages_after(inbox_id, after_seq) -> tuple[list[dict], bool]:
    rows = list(Message.objects.filter(inbox_id=inbox_id, seq__gt=after_seq).order_by("seq")[: CATCH_UP_LIMIT + 1])
    return [message_summary(row) for row in rows[:CATCH_UP_LIMIT]], len(rows) > CATCH_UP_LIMIT


@database_sync_to_async
def _visible_inbox_ids(user) -> list[int]:
    return list(access.visible_inboxes(user).values_list("pk", flat=True))


@database_sync_to_async
def _unread_counts(inbox_ids) -> dict[str, int]:
    return {str(pk): count for pk, count in unread_counts_for_ids(inbox_ids).items()}


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """A consumer that closes its websocket with 1013 when the channel layer cannot be reached.

    Channels would let the layer's error escape (an HTTP 500 during the
    handshake, a traceback later). The layer is used both by the consumer's
    own calls (group_add) and by Channels' loop that receives group events,
    so the error is caught around the whole consumer.
    """

    async def __call__(self, scope, receive, send):
        self.websocket_state = "connecting"
        try:
            await super().__call__(scope, receive, send)
        except LAYER_ERRORS as error:
            layer_health.failed(error)
            if self.websocket_state == "gone":
                return
            if self.websocket_state == "connecting":
                # Accepted only to carry the close code: a refused handshake reaches the browser without one.
                await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_LAYER_UNAVAILABLE})

    async def accept(self, subprotocol=None, headers=None):
        await super().accept(subprotocol, headers)
        self.websocket_state = "open"
        metrics.websocket_opened(self)

    async def close(self, code=None, reason=None):
        self.websocket_state = "gone"
        await super().close(code, reason)

    async def websocket_disconnect(self, message):
        self.websocket_state = "gone"
        metrics.websocket_closed(self)
        await super().websocket_disconnect(message)

    async def still_allowed(self, inbox_id: int) -> bool:
        """Whether the user may still see `inbox_id`; closes the socket (4403) when not.

        Asked again at most every MEMBERSHIP_RECHECK seconds per inbox, so a
        burst of mail costs no query per event.
        """
        checked = self.__dict__.setdefault("allowed_checked_at", {})
        now = time.monotonic()
        if now - checked.get(inbox_id, float("-inf")) < MEMBERSHIP_RECHECK:
            return True
        if await _can_see_inbox(self.scope["user"], inbox_id):
            checked[inbox_id] = now
            return True
        await self.close(code=4403)
        return False


class InboxConsumer(LiveConsumer):
    async def connect(self):
        self.inbox_id = int(self.scope["url_route"]["kwargs"]["inbox_id"])
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not await self.still_allowed(self.inbox_id):
            await self.close(code=4403)
            return
        self.group = inbox_group(self.inbox_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        layer_health.answered()
        await self.accept()

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "catch_up":
            after = content.get("after_seq")
            if not isinstance(after, int) or after < 0:
                await self.send_json({"type": "error", "error": "after_seq must be a non-negative integer"})
                return
            messages, truncated = await _messages_after(self.inbox_id, after)
            await self.send_json({"type": "caught_up", "messages": messages, "truncated": truncated})

    async def message_new(self, event):
        if await self.still_allowed(self.inbox_id):
            await self.send_json({"type": "message.new", "message": event["message"]})

    async def messages_new(self, event):
        """A group commit's messages (in `seq` order): passed on one `message.new` frame each."""
        if await self.still_allowed(self.inbox_id):
            for message in event["messages"]:
                await self.send_json({"type": "message.new", "message": message})

    async def message_checked(self, event):
        """Sent by the SPF/DKIM/DMARC checks once a message's verdict is stored."""
        if await self.still_allowed(self.inbox_id):
            payload = {key: value for key, value in event.items() if key != "type"}
            await self.send_json({"type": "message.checked", **payload})

    async def messages_checked(self, event):
        """Verdicts of a batch of checks (each a `message.checked` event): passed on one frame each."""
        if await self.still_allowed(self.inbox_id):
            for checked in event["checked"]:
                payload = {key: value for key, value in checked.items() if key != "type"}
                await self.send_json({"type": "message.checked", **payload})


class UnreadConsumer(LiveConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        # Joined at connect time: a page opened before a new inbox exists picks it up on reload.
        self.inbox_ids = await _visible_inbox_ids(user)
        for inbox_id in self.inbox_ids:
            await self.channel_layer.group_add(inbox_group(inbox_id), self.channel_name)
        await self.accept()
        counts = await _unread_counts(self.inbox_ids)
        await self.send_json({"type": "unread", "counts": counts, "window": UNREAD_WINDOW})

    async def disconnect(self, code):
        recount = getattr(self, "recount", None)
        if recount is not None:
            recount.cancel()
        for inbox_id in getattr(self, "inbox_ids", []):
            await self.channel_layer.group_discard(inbox_group(inbox_id), self.channel_name)

    async def message_new(self, event):
        await self._count_later(event["message"]["inbox_id"])

    async def messages_new(self, event):
        for inbox_id in {message["inbox_id"] for message in event["messages"]}:
            await self._count_later(inbox_id)

    async def _count_later(self, inbox_id: int) -> None:
        """Coalesced: new mail marks its inbox; one query per UNREAD_COALESCE counts all marked ones.

        A burst of mail costs one count per interval, not one per message, and
        the last message of a burst is counted (at most UNREAD_COALESCE late).
        """
        if not await self.still_allowed(inbox_id):
            return
        self.__dict__.setdefault("to_count", set()).add(inbox_id)
        if getattr(self, "recount", None) is None:
            self.recount = asyncio.ensure_future(self._send_counts())

    async def _send_counts(self) -> None:
        try:
            # Mail that arrives while counting is marked again and counted in the next round.
            while self.to_count:
                await asyncio.sleep(UNREAD_COALESCE)
                inbox_ids, self.to_count = sorted(self.to_count), set()
                counts = await _unread_counts(inbox_ids)
                if self.websocket_state != "open":
                    return
                await self.send_json({"type": "unread", "counts": counts, "window": UNREAD_WINDOW})
        finally:
            self.recount = None

    async def message_checked(self, event):
        """Verdicts do not change unread counts."""

    async def messages_checked(self, event):
        """Verdicts do not change unread counts."""
