"""Live updates for open pages.

`InboxConsumer` (/ws/inboxes/<id>/) streams one inbox's new messages (and the
checks' verdicts) to an open message list. A client that reconnects sends
`{"type": "catch_up", "after_seq": N}` and receives what arrived after N.

`UnreadConsumer` (/ws/unread/) keeps the sidebar's unread counts current for
every inbox of the user's teams.

Only members of an inbox's team can join its group; the membership check runs
in `connect()` and nobody else is accepted.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .events import inbox_group, message_summary
from .models import Inbox, Message
from .unread import UNREAD_WINDOW, unread_counts_for_ids

CATCH_UP_LIMIT = 200


@database_sync_to_async
def _is_member(user, inbox_id) -> bool:
    return Inbox.objects.filter(pk=inbox_id, team__members=user).exists()


@database_sync_to_async
def _messages_after(inbox_id, after_seq) -> tuple[list[dict], bool]:
    rows = list(Message.objects.filter(inbox_id=inbox_id, seq__gt=after_seq).order_by("seq")[: CATCH_UP_LIMIT + 1])
    return [message_summary(row) for row in rows[:CATCH_UP_LIMIT]], len(rows) > CATCH_UP_LIMIT


@database_sync_to_async
def _user_inbox_ids(user) -> list[int]:
    return list(Inbox.objects.filter(team__members=user).values_list("pk", flat=True))


@database_sync_to_async
def _unread_counts(inbox_ids) -> dict[str, int]:
    return {str(pk): count for pk, count in unread_counts_for_ids(inbox_ids).items()}


class InboxConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.inbox_id = int(self.scope["url_route"]["kwargs"]["inbox_id"])
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not await _is_member(user, self.inbox_id):
            await self.close(code=4403)
            return
        self.group = inbox_group(self.inbox_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
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
        await self.send_json({"type": "message.new", "message": event["message"]})

    async def message_checked(self, event):
        """Sent by the SPF/DKIM/DMARC checks once a message's verdict is stored."""
        payload = {key: value for key, value in event.items() if key != "type"}
        await self.send_json({"type": "message.checked", **payload})


class UnreadConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        # Joined at connect time: a page opened before a new inbox exists picks it up on reload.
        self.inbox_ids = await _user_inbox_ids(user)
        for inbox_id in self.inbox_ids:
            await self.channel_layer.group_add(inbox_group(inbox_id), self.channel_name)
        await self.accept()
        counts = await _unread_counts(self.inbox_ids)
        await self.send_json({"type": "unread", "counts": counts, "window": UNREAD_WINDOW})

    async def disconnect(self, code):
        for inbox_id in getattr(self, "inbox_ids", []):
            await self.channel_layer.group_discard(inbox_group(inbox_id), self.channel_name)

    async def message_new(self, event):
        inbox_id = event["message"]["inbox_id"]
        counts = await _unread_counts([inbox_id])
        await self.send_json({"type": "unread", "counts": counts, "window": UNREAD_WINDOW})

    async def message_checked(self, event):
        """Verdicts do not change unread counts."""
