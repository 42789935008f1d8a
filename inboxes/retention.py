"""Retention: removing messages past an inbox's cap or older than the maximum age.

Ingest already enforces the cap as each message arrives; this module also
applies it after an inbox's cap was lowered, and removes messages older than
`MAILDOG_MAX_MESSAGE_AGE_DAYS`. Deletes run in small batches, each its own
transaction, so a large purge never holds long locks against incoming mail.
"""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import Inbox, Message

BATCH_SIZE = 1000


@dataclass
class PurgeResult:
    expired: int = 0  # older than the maximum age
    over_cap: int = 0  # beyond an inbox's max_messages

    @property
    def total(self) -> int:
        return self.expired + self.over_cap


def _delete_in_batches(queryset, batch_size: int) -> int:
    deleted = 0
    while True:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        with transaction.atomic():
            deleted += Message.objects.filter(pk__in=ids).delete()[1].get(Message._meta.label, 0)


def expired_messages(max_age_days: int, now: datetime.datetime | None = None):
    """Messages received more than `max_age_days` days ago (none when 0)."""
    if max_age_days <= 0:
        return Message.objects.none()
    cutoff = (now or timezone.now()) - datetime.timedelta(days=max_age_days)
    return Message.objects.filter(received_at__lt=cutoff)


def over_cap_messages(inbox: Inbox):
    """The inbox's messages beyond its newest `max_messages` (by sequence number)."""
    return Message.objects.filter(inbox=inbox, seq__lte=inbox.last_seq - inbox.max_messages)


def purge(max_age_days: int, *, dry_run: bool = False, batch_size: int = BATCH_SIZE) -> PurgeResult:
    """Remove expired messages, then whatever exceeds each inbox's cap; return the counts."""
    result = PurgeResult()
    expired = expired_messages(max_age_days)
    result.expired = expired.count() if dry_run else _delete_in_batches(expired, batch_size)
    # Only inboxes that can be over their cap: received more than they may keep.
    for inbox in Inbox.objects.filter(last_seq__gt=F("max_messages")).only("pk", "last_seq", "max_messages"):
        over = over_cap_messages(inbox)
        result.over_cap += over.count() if dry_run else _delete_in_batches(over, batch_size)
    return result
