"""What an open inbox page fetches to catch up: the messages after a sequence number, as JSON.

The page's websocket brings each new message once; a page that was offline
(reconnect) or missed an event (a gap in the sequence numbers it has seen)
asks here for everything after the last number it is sure of, and places what
it did not have. The summaries are the live events' own (`inboxes.events`).
"""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from ..access import get_inbox
from ..events import message_summary
from ..models import Message

# One answer's worth; the page asks again from the last one while `truncated` is true.
CATCH_UP_LIMIT = 200


@login_required
@require_GET
def messages_after(request, inbox_id, seq):
    """`{"messages": [...], "truncated": bool, "last_seq": N}`: the messages with a sequence number above `seq`,
    oldest first, at most CATCH_UP_LIMIT; `last_seq` is the inbox's newest number when asked."""
    inbox = get_inbox(request.user, inbox_id)
    rows = list(Message.objects.filter(inbox=inbox, seq__gt=seq).order_by("seq")[: CATCH_UP_LIMIT + 1])
    response = JsonResponse(
        {
            "messages": [message_summary(row) for row in rows[:CATCH_UP_LIMIT]],
            "truncated": len(rows) > CATCH_UP_LIMIT,
            "last_seq": inbox.last_seq,
        }
    )
    response["Cache-Control"] = "no-store"
    return response
