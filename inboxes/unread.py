"""Unread counts for the sidebar, cheap at any inbox size.

Counting every unread message of a 100,000-message inbox reads every row (the
read flag is not indexed), on every page. Instead only the newest
`UNREAD_WINDOW` messages are counted: a range on the unique (inbox, seq) index.
Older unread mail still shows in the list; the badge says "999+" style when
the window is full.
"""

from functools import reduce
from operator import or_

from django.db.models import Count, Q

from .models import Inbox, Message

UNREAD_WINDOW = 1000


def unread_counts(inboxes) -> dict[int, int]:
    """{inbox id: unread messages among its newest UNREAD_WINDOW} for `inboxes` (Inbox objects)."""
    inboxes = list(inboxes)
    if not inboxes:
        return {}
    window = reduce(or_, (Q(inbox_id=i.pk, seq__gt=i.last_seq - UNREAD_WINDOW) for i in inboxes))
    rows = Message.objects.filter(window, is_read=False).values("inbox_id").annotate(unread=Count("id")).order_by()
    counts = {inbox.pk: 0 for inbox in inboxes}
    counts.update({row["inbox_id"]: row["unread"] for row in rows})
    return counts


def unread_counts_for_ids(inbox_ids) -> dict[int, int]:
    return unread_counts(Inbox.objects.filter(pk__in=inbox_ids).only("pk", "last_seq"))
