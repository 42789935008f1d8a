"""Fault rules (what an inbox's SMTP answers should go wrong) and the faults injected so far."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from inboxes.models import Inbox, Message

from .replies import normalize_reply

MAX_DELAY = 300  # seconds
# Injected faults kept per inbox (the newest); older ones are pruned as new ones arrive.
KEEP_INJECTED = 500


class Stage(models.TextChoices):
    AUTH = "auth", "AUTH"
    MAIL = "mail", "MAIL FROM"
    RCPT = "rcpt", "RCPT TO"
    DATA = "data", "DATA"


class FaultRuleQuerySet(models.QuerySet):
    def active(self, now=None):
        """Rules that still apply: not used up and not expired."""
        now = now or timezone.now()
        return self.filter(Q(remaining__isnull=True) | Q(remaining__gt=0)).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        )


class FaultRule(models.Model):
    """What goes wrong, at which SMTP command, for which messages, how often and until when."""

    inbox = models.ForeignKey(Inbox, models.CASCADE, related_name="fault_rules")
    name = models.CharField(max_length=100, help_text="Shown where the fault is recorded, e.g. “flaky-rcpt”.")
    stage = models.CharField(max_length=8, choices=Stage.choices)
    reply = models.CharField(
        max_length=256,
        blank=True,
        help_text="The reply sent instead of the normal one, e.g. “550 5.1.1 No such user”; empty: the normal reply.",
    )
    delay = models.FloatField(
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_DELAY)],
        help_text="Seconds to wait before replying (at DATA: after the message is stored, before the 250).",
    )
    disconnect = models.BooleanField(
        default=False,
        help_text="DATA only: close the connection after the message, without a reply; nothing is stored.",
    )
    remaining = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many more messages (sessions, for AUTH) it applies to; empty: no limit."
    )
    probability = models.FloatField(
        default=1.0, validators=[MinValueValidator(0), MaxValueValidator(1)], help_text="Chance per message, 0 to 1."
    )
    match_rcpt = models.CharField(
        max_length=254,
        blank=True,
        help_text="Only for recipients matching this pattern (* and ?), e.g. “*@bounce.test”.",
    )
    match_sender = models.CharField(max_length=254, blank=True, help_text="Only for senders matching this pattern.")
    expires_at = models.DateTimeField(null=True, blank=True)
    hits = models.PositiveIntegerField(default=0, help_text="Messages (sessions, for AUTH) it applied to.")
    created = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")

    objects = FaultRuleQuerySet.as_manager()

    class Meta:
        ordering = ["created", "id"]
        constraints = [models.UniqueConstraint(fields=["inbox", "name"], name="faultrule_unique_inbox_name")]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.reply:
            try:
                self.reply = normalize_reply(self.reply)
            except ValidationError as error:
                errors["reply"] = error.messages
        if self.disconnect and self.stage != Stage.DATA:
            errors["disconnect"] = ["Only a DATA rule can close the connection mid-message."]
        if self.disconnect and self.reply:
            errors["reply"] = ["A rule that closes the connection sends no reply."]
        if not (self.reply or self.delay or self.disconnect):
            errors["reply"] = ["Give a reply, a delay, or close the connection."]
        if self.match_rcpt and self.stage in (Stage.AUTH, Stage.MAIL):
            errors["match_rcpt"] = ["Recipients are only known from RCPT on."]
        if self.match_sender and self.stage == Stage.AUTH:
            errors["match_sender"] = ["The sender is only known from MAIL on."]
        # The unique constraint's check, with a message of its own: the page's form and the API leave
        # out `inbox`, so Django's own unique validation would skip it.
        same_name = FaultRule.objects.filter(inbox_id=self.inbox_id, name=self.name).exclude(pk=self.pk)
        if self.inbox_id and same_name.exists():
            errors["name"] = ["This inbox already has a fault rule with this name."]
        if errors:
            raise ValidationError(errors)

    @property
    def is_active(self) -> bool:
        return (self.remaining is None or self.remaining > 0) and (
            self.expires_at is None or self.expires_at > timezone.now()
        )

    def describe(self) -> str:
        """What the rule does, in a few words."""
        parts = []
        if self.delay:
            parts.append(f"wait {self.delay:g} s")
        if self.disconnect:
            parts.append("close the connection")
        elif self.reply:
            parts.append(f"answer “{self.reply}”")
        else:
            parts.append("then answer normally")
        return f"At {self.get_stage_display()}: " + ", ".join(parts)


class Effect(models.TextChoices):
    REFUSED = "refused", "refused"
    DELAYED = "delayed", "delayed"
    DISCONNECTED = "disconnected", "connection closed"


class InjectedFault(models.Model):
    """One fault injected into one SMTP command, linked to the message when it was stored after all."""

    inbox = models.ForeignKey(Inbox, models.CASCADE, related_name="injected_faults")
    rule = models.ForeignKey(FaultRule, models.SET_NULL, null=True, blank=True, related_name="injected")
    rule_name = models.CharField(max_length=100)
    stage = models.CharField(max_length=8, choices=Stage.choices)
    effect = models.CharField(max_length=16, choices=Effect.choices)
    reply = models.CharField(max_length=256, blank=True)
    delay = models.FloatField(default=0)
    recipient = models.CharField(max_length=254, blank=True)
    message = models.ForeignKey(Message, models.SET_NULL, null=True, blank=True, related_name="injected_faults")
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["inbox", "-id"], name="injectedfault_inbox_newest")]

    def __str__(self):
        return self.describe()

    def describe(self) -> str:
        """E.g. “RCPT TO bob@example.com refused (550 5.1.1 No such user) by fault rule 'flaky-rcpt'”."""
        what = self.get_stage_display() + (f" {self.recipient}" if self.recipient else "")
        if self.effect == Effect.REFUSED:
            how = f"refused ({self.reply})"
        elif self.effect == Effect.DISCONNECTED:
            how = "answered by closing the connection"
        else:
            how = "answered normally"
        if self.delay:
            how = f"{how} after {self.delay:g} s"
        return f"{what} {how} by fault rule '{self.rule_name}'"
