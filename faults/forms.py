from datetime import timedelta

from django import forms
from django.utils import timezone

from .models import FaultRule


class FaultRuleForm(forms.ModelForm):
    expires_in = forms.IntegerField(
        required=False, min_value=1, label="Expires in (minutes)", help_text="Empty: until removed or used up."
    )

    class Meta:
        model = FaultRule
        fields = [
            "name",
            "stage",
            "reply",
            "delay",
            "disconnect",
            "remaining",
            "probability",
            "match_rcpt",
            "match_sender",
        ]
        labels = {"remaining": "For the next N messages", "match_rcpt": "Recipients", "match_sender": "Senders"}

    def __init__(self, *args, inbox, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.inbox = inbox

    def clean(self):
        cleaned = super().clean()
        minutes = cleaned.get("expires_in")
        if minutes:
            self.instance.expires_at = timezone.now() + timedelta(minutes=minutes)
        return cleaned
