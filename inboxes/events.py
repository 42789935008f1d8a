"""Live events: what the SMTP side tells open browsers and waiting API clients.

One channel-layer group per inbox; events are sent only after the data they
describe has been committed.
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def inbox_group(inbox_id: int) -> str:
    return f"inbox-{inbox_id}"


def message_summary(message) -> dict:
    """The fields a message list shows, as JSON-ready values."""
    return {
        "id": message.pk,
        "inbox_id": message.inbox_id,
        "seq": message.seq,
        "subject": message.subject,
        "from": message.from_header or message.envelope_from,
        "to": message.to_header or ", ".join(message.envelope_to),
        "envelope_from": message.envelope_from,
        "envelope_to": list(message.envelope_to),
        "received_at": message.received_at.isoformat(),
        "size": message.size,
        "has_attachments": message.has_attachments,
        "is_read": message.is_read,
        "url": message.get_absolute_url(),
    }


async def asend_to_inbox(inbox_id: int, event: dict) -> None:
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(inbox_group(inbox_id), event)


def send_to_inbox(inbox_id: int, event: dict) -> None:
    """From synchronous code (views, after commit)."""
    async_to_sync(asend_to_inbox)(inbox_id, event)


def new_message_event(message) -> dict:
    return {"type": "message.new", "message": message_summary(message)}


async def amessage_received(message) -> None:
    """Announce a committed message from async code (the SMTP handler)."""
    await asend_to_inbox(message.inbox_id, new_message_event(message))
