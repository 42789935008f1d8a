"""Queuing, claiming and recording webhook deliveries (plain synchronous code; the worker runs it).

A delivery's body is fixed when it is queued; each attempt signs it anew with
the current time. A failed attempt is tried again after a delay that doubles
from `MAILDOG_WEBHOOK_RETRY_FIRST` seconds, up to `MAILDOG_WEBHOOK_ATTEMPTS`
attempts. `MAILDOG_WEBHOOK_DISABLE_AFTER` failed attempts in a row (of any
of its events) disable the webhook, which the team sees on the inbox and the
webhook's page; its pending deliveries are then given up.
"""

import json
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder

from api.serializers import MessageSummarySerializer
from inboxes.ingest import close_stale_connection
from inboxes.models import Message
from metrics import instruments as metrics

from .http import Attempt, post
from .models import EXCERPT_CHARS, KEEP_DELIVERIES, TEST_EVENT, Delivery, Webhook
from .signing import signature

RETRY_MAX = 3600.0  # seconds between attempts, at most


def _body(event: str, inbox_id: int, message: Message | None, **extra) -> str:
    summary = None
    if message is not None:
        summary = MessageSummarySerializer(message).data
        # The API's URL of the message, and its page, absolute (no request to build them from).
        summary["url"] = settings.SITE_URL + summary["url"]
        summary["page_url"] = settings.SITE_URL + message.get_absolute_url()
    data = {"event": event, "inbox_id": inbox_id, "message": summary, "sent": timezone.now(), **extra}
    return json.dumps(data, cls=JSONEncoder, separators=(",", ":"))


def queue_events(events: list[tuple[str, int, int]]) -> int:
    """Queue a delivery per subscribed, enabled webhook for each (event, message id, inbox id); returns how many.

    One query when none of the inboxes has a webhook (the usual case), two more otherwise.
    """
    close_stale_connection()
    hooks: dict[int, list[Webhook]] = {}
    for webhook in Webhook.objects.filter(inbox_id__in={inbox_id for _, _, inbox_id in events}, enabled=True):
        hooks.setdefault(webhook.inbox_id, []).append(webhook)
    wanted = {message_id for _, message_id, inbox_id in events if inbox_id in hooks}
    if not wanted:
        return 0
    messages = {message.pk: message for message in Message.objects.filter(pk__in=wanted)}
    deliveries = []
    for event, message_id, _ in events:
        message = messages.get(message_id)
        if message is None:  # deleted meanwhile, or pushed out by the inbox's cap
            continue
        subscribed = [webhook for webhook in hooks.get(message.inbox_id, []) if event in webhook.events]
        if not subscribed:
            continue
        body = _body(event, message.inbox_id, message)
        deliveries += [Delivery(webhook=hook, event=event, message_id=message_id, body=body) for hook in subscribed]
    Delivery.objects.bulk_create(deliveries)
    return len(deliveries)


def queue_test(webhook: Webhook) -> Delivery:
    body = _body(TEST_EVENT, webhook.inbox_id, None, webhook_id=webhook.pk)
    return Delivery.objects.create(webhook=webhook, event=TEST_EVENT, body=body)


def claim_due(limit: int, hold: float) -> list[Delivery]:
    """Take up to `limit` due deliveries for `hold` seconds; another process's worker cannot take them meanwhile."""
    close_stale_connection()
    now = timezone.now()
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    due = Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lte=now, webhook__enabled=True)
    candidates = list(due.filter(free).order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit])
    claimed = [
        pk
        for pk in candidates
        if Delivery.objects.filter(free, pk=pk, state=Delivery.State.PENDING).update(
            claimed_until=now + timedelta(seconds=hold)
        )
    ]
    return list(Delivery.objects.filter(pk__in=claimed).select_related("webhook").order_by("next_attempt_at", "id"))


def seconds_until_next_due() -> float | None:
    close_stale_connection()
    first = (
        Delivery.objects.filter(state=Delivery.State.PENDING, webhook__enabled=True)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if first is None:
        return None
    return max(0.0, (first - timezone.now()).total_seconds())


def attempt(delivery: Delivery) -> Attempt:
    """Sign and POST the delivery's body once."""
    webhook = delivery.webhook
    body = delivery.body.encode()
    timestamp = int(timezone.now().timestamp())
    headers = {
        "Maildog-Event": delivery.event,
        "Maildog-Delivery": str(delivery.pk),
        "Maildog-Timestamp": str(timestamp),
        "Maildog-Signature": signature(webhook.secret, timestamp, body),
    }
    return post(webhook.url, body, headers, settings.MAILDOG_WEBHOOK_TIMEOUT)


def record(delivery: Delivery, result: Attempt) -> None:
    """Save an attempt's outcome; schedule the next one, give up, or disable the webhook."""
    now = timezone.now()
    delivery.attempts += 1
    delivery.status_code = result.status_code
    delivery.error = result.error[:300]
    delivery.latency_ms = result.latency_ms
    delivery.response_excerpt = result.excerpt[:EXCERPT_CHARS]
    delivery.claimed_until = None
    is_test = delivery.event == TEST_EVENT
    if result.ok:
        delivery.state = Delivery.State.DELIVERED
        delivery.finished_at = now
        outcome = "delivered"
    elif is_test or delivery.attempts >= settings.MAILDOG_WEBHOOK_ATTEMPTS:
        delivery.state = Delivery.State.FAILED
        delivery.finished_at = now
        outcome = "gave_up"
    else:
        delay = min(settings.MAILDOG_WEBHOOK_RETRY_FIRST * 2 ** (delivery.attempts - 1), RETRY_MAX)
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        outcome = "failed"
    metrics.webhook_delivery(outcome, result.latency_ms / 1000)
    with transaction.atomic():
        delivery.save()
        if is_test:
            return
        webhooks = Webhook.objects.filter(pk=delivery.webhook_id)
        if result.ok:
            webhooks.exclude(consecutive_failures=0).update(consecutive_failures=0)
            return
        webhooks.update(consecutive_failures=F("consecutive_failures") + 1)
        failures = webhooks.values_list("consecutive_failures", flat=True).first() or 0
        if failures >= settings.MAILDOG_WEBHOOK_DISABLE_AFTER:
            _disable(delivery.webhook_id, failures, delivery.outcome, now)
    if delivery.pk % 50 == 0:
        prune(delivery.webhook_id)


def _disable(webhook_id: int, failures: int, last: str, now) -> None:
    reason = f"Disabled after {failures} failed delivery attempts in a row (last: {last})."
    changed = Webhook.objects.filter(pk=webhook_id, enabled=True).update(
        enabled=False, disabled_reason=reason[:300], disabled_at=now
    )
    if changed:
        Delivery.objects.filter(webhook_id=webhook_id, state=Delivery.State.PENDING).update(
            state=Delivery.State.FAILED, finished_at=now, claimed_until=None, error="webhook disabled"
        )


def deliver(delivery: Delivery) -> Delivery:
    """One attempt, recorded (the worker's unit of work; the test button's too)."""
    record(delivery, attempt(delivery))
    return delivery


def prune(webhook_id: int) -> None:
    """Keep the newest KEEP_DELIVERIES finished deliveries of the webhook (pending ones always stay)."""
    ids = Delivery.objects.filter(webhook_id=webhook_id).order_by("-id").values_list("id", flat=True)
    oldest_kept = ids[KEEP_DELIVERIES - 1 : KEEP_DELIVERIES].first()
    if oldest_kept is not None:
        Delivery.objects.filter(webhook_id=webhook_id, id__lt=oldest_kept).exclude(
            state=Delivery.State.PENDING
        ).delete()
