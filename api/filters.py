"""Message search filters, shared by the message list and the waiting endpoint."""

from dataclasses import dataclass
from datetime import datetime, timezone

from django.db.models import Q
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError


@dataclass
class MessageFilters:
    """Filters from query parameters; text filters match case-insensitively as substrings.

    - `to`: an envelope recipient or the To/Cc headers
    - `from`: the envelope sender or the From header
    - `subject`, `text` (the plain-text body, or the HTML's text)
    - `received_after` (ISO 8601), `after_seq` (the inbox's sequence number),
      `after` (a message id): only messages received later
    """

    to: str = ""
    sender: str = ""
    subject: str = ""
    text: str = ""
    received_after: datetime | None = None
    after_seq: int | None = None
    after: int | None = None

    PARAMETERS = ("to", "from", "subject", "text", "received_after", "after_seq", "after")

    @classmethod
    def from_query(cls, params) -> "MessageFilters":
        """Read the filters from a QueryDict; a malformed value raises ValidationError (400)."""
        errors = {}
        received_after = None
        if params.get("received_after"):
            try:
                received_after = parse_datetime(params["received_after"])
            except ValueError:
                received_after = None
            if received_after is None:
                errors["received_after"] = "Expected an ISO 8601 date and time, e.g. 2024-05-01T12:00:00Z."
            elif received_after.tzinfo is None:
                received_after = received_after.replace(tzinfo=timezone.utc)
        numbers = {}
        for name in ("after_seq", "after"):
            value = params.get(name)
            if value:
                try:
                    numbers[name] = int(value)
                except ValueError:
                    errors[name] = "Expected an integer."
        if errors:
            raise ValidationError(errors)
        return cls(
            to=params.get("to", "").strip(),
            sender=params.get("from", "").strip(),
            subject=params.get("subject", "").strip(),
            text=params.get("text", "").strip(),
            received_after=received_after,
            after_seq=numbers.get("after_seq"),
            after=numbers.get("after"),
        )

    def apply(self, messages):
        if self.to:
            messages = messages.filter(
                Q(envelope_to__icontains=self.to) | Q(to_header__icontains=self.to) | Q(cc_header__icontains=self.to)
            )
        if self.sender:
            messages = messages.filter(Q(envelope_from__icontains=self.sender) | Q(from_header__icontains=self.sender))
        if self.subject:
            messages = messages.filter(subject__icontains=self.subject)
        if self.text:
            messages = messages.filter(text_body__icontains=self.text)
        if self.received_after is not None:
            messages = messages.filter(received_at__gt=self.received_after)
        if self.after_seq is not None:
            messages = messages.filter(seq__gt=self.after_seq)
        if self.after is not None:
            messages = messages.filter(pk__gt=self.after)
        return messages
