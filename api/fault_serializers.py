"""JSON shapes of fault rules and injected faults (`api.fault_views`)."""

from datetime import timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import serializers

from faults.models import FaultRule, InjectedFault


class FaultRuleSerializer(serializers.ModelSerializer):
    """A fault rule; `remaining` null applies to every message, `expires_in` (seconds) sets `expires_at`."""

    expires_in = serializers.FloatField(
        write_only=True, required=False, min_value=1, help_text="Seconds from now until the rule expires."
    )
    active = serializers.BooleanField(source="is_active", read_only=True)
    description = serializers.CharField(source="describe", read_only=True)

    class Meta:
        model = FaultRule
        fields = [
            "id",
            "name",
            "stage",
            "reply",
            "delay",
            "disconnect",
            "remaining",
            "probability",
            "match_rcpt",
            "match_sender",
            "expires_at",
            "expires_in",
            "hits",
            "created",
            "active",
            "description",
        ]
        read_only_fields = ["hits", "created"]
        # The unique name per inbox is checked in validate(): the inbox comes from the URL.
        validators = []

    def validate(self, data):
        inbox = self.context["inbox"]
        expires_in = data.pop("expires_in", None)
        if expires_in is not None:
            data["expires_at"] = timezone.now() + timedelta(seconds=expires_in)
        rule = FaultRule(inbox=inbox, **data)
        try:
            rule.clean()
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        data["reply"] = rule.reply
        return data


class InjectedFaultSerializer(serializers.ModelSerializer):
    description = serializers.CharField(source="describe", read_only=True)

    class Meta:
        model = InjectedFault
        fields = [
            "id",
            "at",
            "rule",
            "rule_name",
            "stage",
            "effect",
            "reply",
            "delay",
            "recipient",
            "message",
            "client_ip",
            "description",
        ]
