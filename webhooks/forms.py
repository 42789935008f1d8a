from django import forms

from .http import RefusedURL, check_url
from .models import EVENTS, Webhook


class WebhookForm(forms.ModelForm):
    url = forms.URLField(
        max_length=2000,
        assume_scheme="https",
        label="URL",
        help_text="http:// or https://; redirects are not followed.",
    )
    events = forms.MultipleChoiceField(
        choices=[(event, event) for event in EVENTS],
        widget=forms.CheckboxSelectMultiple,
        initial=list(EVENTS),
        help_text="message.new: a message was stored. message.checked: its SPF/DKIM/DMARC results are in.",
    )

    class Meta:
        model = Webhook
        fields = ["url", "events"]
        labels = {"url": "URL"}

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            check_url(url, resolve=False)
        except RefusedURL as error:
            raise forms.ValidationError(str(error)) from None
        return url
