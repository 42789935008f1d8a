"""The fault rules as each SMTP process knows them, and the database work of firing one.

Rules live in the database. Every SMTP process keeps a copy of the active ones
(`RuleBook`), so its hot path asks a dict, not the database. The copy is
reloaded (one query for all inboxes) when it is invalidated, which happens:

- in this process, after any rule is saved or deleted (`receivers`);
- in every other process, through the channel layer: a change is broadcast to
  the group `FAULTS_GROUP`, which each SMTP process listens to (`listener`);
- and at the latest `MAILDOG_FAULTS_REFRESH` seconds after the last load, in
  case a broadcast was lost (Redis unreachable).

What must be exact across processes is decided by the database when a rule
fires: a rule that applies to N messages is used up by an atomic
`UPDATE ... SET remaining = remaining - 1 WHERE remaining > 0`, so N messages
get the fault whichever processes they reach.
"""

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from inboxes.ingest import close_stale_connection

from .models import KEEP_INJECTED, Effect, FaultRule, InjectedFault

FAULTS_GROUP = "maildog-faults"


@dataclass(frozen=True)
class Rule:
    """A rule as the SMTP side uses it (a snapshot of the row)."""

    id: int
    inbox_id: int
    name: str
    stage: str
    reply: str
    delay: float
    disconnect: bool
    counted: bool
    probability: float
    match_rcpt: str
    match_sender: str
    expires_at: datetime | None

    @classmethod
    def of(cls, row: FaultRule) -> "Rule":
        return cls(
            id=row.pk,
            inbox_id=row.inbox_id,
            name=row.name,
            stage=row.stage,
            reply=row.reply,
            delay=row.delay,
            disconnect=row.disconnect,
            counted=row.remaining is not None,
            probability=row.probability,
            match_rcpt=row.match_rcpt.lower(),
            match_sender=row.match_sender.lower(),
            expires_at=row.expires_at,
        )

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def matches(self, sender: str, recipients: list[str]) -> bool:
        if self.match_sender and not fnmatchcase(sender.lower(), self.match_sender):
            return False
        if self.match_rcpt and not any(fnmatchcase(rcpt.lower(), self.match_rcpt) for rcpt in recipients):
            return False
        return True

    @property
    def effect(self) -> str:
        if self.disconnect:
            return Effect.DISCONNECTED
        return Effect.REFUSED if self.reply else Effect.DELAYED


class RuleBook:
    """This process's copy of the active rules, by inbox and stage."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rules: dict[tuple[int, str], tuple[Rule, ...]] = {}
        self._loaded_at: float | None = None
        self._generation = 0  # bumped by every invalidation
        self._used_up: set[int] = set()

    def invalidate(self) -> None:
        """Reload before the next use (callable from any thread)."""
        with self._lock:
            self._generation += 1
            self._loaded_at = None

    @property
    def fresh(self) -> bool:
        loaded_at = self._loaded_at
        return loaded_at is not None and time.monotonic() - loaded_at < settings.MAILDOG_FAULTS_REFRESH

    def load(self) -> None:
        """Read the active rules of every inbox (synchronous: the ORM)."""
        with self._lock:
            generation = self._generation
        close_stale_connection()
        rules: dict[tuple[int, str], list[Rule]] = {}
        for row in FaultRule.objects.active().order_by("created", "id"):
            rules.setdefault((row.inbox_id, row.stage), []).append(Rule.of(row))
        with self._lock:
            if generation != self._generation:
                return  # changed while loading: the next use loads again
            self._rules = {key: tuple(value) for key, value in rules.items()}
            self._used_up.clear()
            self._loaded_at = time.monotonic()

    def rules(self, inbox_id: int, stage: str) -> tuple[Rule, ...]:
        return self._rules.get((inbox_id, stage), ())

    def used_up(self, rule: Rule) -> bool:
        return rule.id in self._used_up

    def mark_used_up(self, rule: Rule) -> None:
        self._used_up.add(rule.id)


book = RuleBook()


def take(rule: Rule) -> bool:
    """Count one more message for `rule`; False if it is used up (another process took the last one) or gone."""
    close_stale_connection()
    rows = FaultRule.objects.filter(pk=rule.id)
    if rule.counted:
        rows = rows.filter(remaining__gt=0)
        changed = rows.update(remaining=F("remaining") - 1, hits=F("hits") + 1)
    else:
        changed = rows.update(hits=F("hits") + 1)
    return bool(changed)


def record(rule: Rule, effect: str, *, recipient: str = "", client_ip: str | None = None, message_id=None) -> int:
    """Store one injected fault; returns its id. Keeps the newest KEEP_INJECTED per inbox."""
    close_stale_connection()
    fault = InjectedFault.objects.create(
        inbox_id=rule.inbox_id,
        rule_id=rule.id,
        rule_name=rule.name,
        stage=rule.stage,
        effect=effect,
        reply=rule.reply,
        delay=rule.delay,
        recipient=recipient[:254],
        client_ip=client_ip or None,
        message_id=message_id,
    )
    if fault.pk % 50 == 0:
        prune(rule.inbox_id)
    return fault.pk


def prune(inbox_id: int) -> None:
    """Forget all but the newest KEEP_INJECTED injected faults of the inbox."""
    ids = InjectedFault.objects.filter(inbox_id=inbox_id).order_by("-id").values_list("id", flat=True)
    oldest_kept = ids[KEEP_INJECTED - 1 : KEEP_INJECTED].first()
    if oldest_kept is not None:
        InjectedFault.objects.filter(inbox_id=inbox_id, id__lt=oldest_kept).delete()


def link(fault_ids: list[int], message_id: int) -> None:
    """The message these faults happened to was stored after all (e.g. only one recipient was refused)."""
    close_stale_connection()
    with transaction.atomic():
        InjectedFault.objects.filter(Q(pk__in=fault_ids), message__isnull=True).update(message_id=message_id)


def now() -> datetime:
    return timezone.now()
