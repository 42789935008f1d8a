"""JSON shapes of webhooks and their deliveries (`api.webhook_views`)."""

from rest_framework import serializers

from webhooks.http import RefusedURL, check_url
from webhooks.models import EVENTS, Delivery, Webhook


class WebhookSerializer(serializers.ModelSerializer):
    """A webhook; `secret` signs its requests (docs/webhooks.md), `events` any of message.new, message.checked."""

    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENTS), allow_empty=False, required=False, default=list(EVENTS)
    )

    class Meta:
        model = Webhook
        fields = [
            "id",
            "url",
            "events",
            "secret",
            "enabled",
            "consecutive_failures",
            "disabled_reason",
            "disabled_at",
            "created",
        ]
        read_only_fields = ["secret", "consecutive_failures", "disabled_reason", "disabled_at", "created"]

    def validate_url(self, value):
        try:
            check_url(value, resolve=False)
        except RefusedURL as error:
            raise serializers.ValidationError(str(error)) from None
        return value

    def validate_events(self, value):
        return list(dict.fromkeys(value))


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "message_id",
            "state",
            "attempts",
            "next_attempt_at",
            "status_code",
            "error",
            "latency_ms",
            "response_excerpt",
            "created",
            "finished_at",
        ]
