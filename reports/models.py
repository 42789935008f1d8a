from django.db import models
from django.utils import timezone

from inboxes.models import Inbox, Message


class Report(models.Model):
    """The report on one message: its findings (counted by severity) and the sections they came from."""

    class Status(models.TextChoices):
        COMPLETE = "complete", "Complete"
        BOUNDED = "bounded", "Bounded (a budget cut part of the work)"
        FAILED = "failed", "Failed"

    message = models.OneToOneField(Message, models.CASCADE, primary_key=True, related_name="report")
    status = models.CharField(max_length=16, choices=Status.choices)
    errors = models.PositiveIntegerField(default=0)
    warnings = models.PositiveIntegerField(default=0)
    notes = models.PositiveIntegerField(default=0)
    # findings, compatibility, spam, links, limits, duration: see reports.service.build.
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return (
            f"Report on message {self.message_id}: {self.errors} errors, {self.warnings} warnings, {self.notes} notes"
        )

    @property
    def findings(self) -> list[dict]:
        return self.data.get("findings", [])

    def counts(self) -> dict:
        return {"status": self.status, "errors": self.errors, "warnings": self.warnings, "notes": self.notes}


class InboxReportSettings(models.Model):
    """What an inbox's team tells the report: its site's URL, and whether links may be followed (opt-in)."""

    inbox = models.OneToOneField(Inbox, models.CASCADE, primary_key=True, related_name="report_settings")
    expected_site_url = models.URLField(
        blank=True,
        help_text="Links and images pointing elsewhere than this site (scheme and host) are reported.",
    )
    link_check = models.BooleanField(
        default=False,
        help_text="Follow the links of every new message (HEAD, then GET where HEAD is refused); report their status.",
    )
    link_check_hosts = models.TextField(
        blank=True,
        help_text="Hosts the link check may contact, one per line (*.example.org: subdomains); empty: any public host.",
    )
    link_check_private = models.BooleanField(
        default=False,
        help_text="Also contact private, loopback and link-local addresses (an application on this network).",
    )

    class Meta:
        verbose_name_plural = "inbox report settings"

    def __str__(self):
        return f"Report settings of {self.inbox}"

    @property
    def allowed_hosts(self) -> list[str]:
        return [line.strip().lower() for line in self.link_check_hosts.splitlines() if line.strip()]

    @classmethod
    def for_inbox(cls, inbox_id: int) -> "InboxReportSettings":
        """The inbox's settings, or the defaults (unsaved) when the team never changed them."""
        found = cls.objects.filter(inbox_id=inbox_id).first()
        return found if found is not None else cls(inbox_id=inbox_id)
