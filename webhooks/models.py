"""Webhooks of an inbox and the log of their deliveries."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from inboxes.models import Inbox

# The events a webhook can subscribe to ("test" is sent by hand from the page or the API).
EVENTS = ("message.new", "message.checked")
TEST_EVENT = "test"
EXCERPT_CHARS = 1024
# Deliveries kept per webhook in its log (the newest); older ones are pruned.
KEEP_DELIVERIES = 200


def generate_secret():
    return "whsec_" + secrets.token_urlsafe(32)


def default_events():
    return list(EVENTS)


class Webhook(models.Model):
    """A URL that receives a signed JSON POST for each subscribed event of the inbox."""

    inbox = models.ForeignKey(Inbox, models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=2000, help_text="http:// or https://; redirects are not followed.")
    # Shown to the team (it signs; it grants nothing in Maildog).
    secret = models.CharField(max_length=100, default=generate_secret)
    events = models.JSONField(default=default_events)
    enabled = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["created", "id"]

    def __str__(self):
        return self.url

    def set_enabled(self, enabled: bool) -> None:
        """Turn deliveries on (the failure count starts again) or off (by hand: no reason shown)."""
        self.enabled = enabled
        self.consecutive_failures = 0
        self.disabled_reason = ""
        self.disabled_at = None if enabled else timezone.now()
        self.save(update_fields=["enabled", "consecutive_failures", "disabled_reason", "disabled_at"])

    def reset_secret(self):
        self.secret = generate_secret()
        self.save(update_fields=["secret"])


class Delivery(models.Model):
    """One event for one webhook: its body (fixed when queued), its attempts and their last outcome."""

    class State(models.TextChoices):
        PENDING = "pending", "pending"
        DELIVERED = "delivered", "delivered"
        FAILED = "failed", "failed"

    webhook = models.ForeignKey(Webhook, models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32)
    message_id = models.BigIntegerField(null=True, blank=True)  # kept when the message is deleted
    body = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker that takes a delivery holds it until then (several processes deliver).
    claimed_until = models.DateTimeField(null=True, blank=True)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["webhook", "-id"], name="delivery_webhook_newest"),
        ]

    def __str__(self):
        return f"{self.event} → {self.webhook.url} ({self.state})"

    @property
    def outcome(self) -> str:
        """What the last attempt gave, in a few words."""
        if self.status_code is not None:
            return f"HTTP {self.status_code}"
        return self.error or "not tried yet"
