"""Fault rules at work in the SMTP listener: the small calls `smtpd.handler` makes.

Each hook is awaited where the handler decides a reply and returns the reply
to send instead (or None: carry on). For an inbox without rules that costs a
dict lookup: the rules come from this process's `RuleBook`, not the database.
When a rule fires, the database counts it (exactly, across processes) and
records it, in one trip to the ORM thread.

A rule decides once per message (per session for AUTH): with `remaining`
and `probability`, the first command of the transaction that the rule
matches takes one from the count and rolls the dice; later commands of the
same transaction (another recipient) follow that decision.

Nothing a client was told 250 for is ever lost: a delay at DATA is spent
after the commit, before the 250; a rule that refuses DATA or closes the
connection there does so before anything is stored.
"""

import asyncio
import logging
import random
import weakref

from asgiref.sync import sync_to_async
from django.db import DatabaseError

from maildog_site.logs import log_event
from metrics import instruments as metrics

from .book import Rule, book, link, now, record, take
from .models import Effect, Stage

log = logging.getLogger("maildog.faults")

# The dice of `probability` (a module attribute, so that a test can seed it).
chance = random.Random()


class SessionFaults:
    """What the fault rules decided in one SMTP session (kept on the session as `server.faults`)."""

    def __init__(self):
        self.decisions: dict[int, bool] = {}  # rule id -> fires in this transaction
        self.unlinked: list[int] = []  # injected faults of this transaction, to link to its message if stored
        self.delay_before_250: Rule | None = None
        self.fired: list[str] = []  # "rule@stage", for the session's log line


def _state(server) -> SessionFaults:
    if server.faults is None:
        server.faults = SessionFaults()
    return server.faults


_loading: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task]" = weakref.WeakKeyDictionary()


async def _reload() -> None:
    """Reload the book once, however many sessions ask at the same moment."""
    loop = asyncio.get_running_loop()
    task = _loading.get(loop)
    if task is None or task.done():
        task = _loading[loop] = loop.create_task(sync_to_async(book.load)())
    try:
        await asyncio.shield(task)
    except DatabaseError:
        # Without the database no mail is stored either (451); no rule applies meanwhile.
        log_event(log, "faults_reload_failed", logging.WARNING, exc_info=True)


def _fire(rule: Rule, first: bool, effect: str, recipient: str, client_ip: str) -> int | None:
    """Count (the first time in a transaction) and record one firing; None when the rule is used up."""
    if first and not take(rule):
        return None
    return record(rule, effect, recipient=recipient, client_ip=client_ip)


async def _first_firing(server, inbox_id, stage, sender="", recipients=(), recipient="") -> Rule | None:
    if not book.fresh:
        await _reload()
    rules = book.rules(inbox_id, stage)
    if not rules:
        return None
    state = _state(server)
    moment = now()
    for rule in rules:
        if rule.expired(moment) or book.used_up(rule) or not rule.matches(sender, list(recipients)):
            continue
        decided = state.decisions.get(rule.id)
        if decided is False:
            continue
        first = decided is None
        if first and rule.probability < 1 and chance.random() >= rule.probability:
            state.decisions[rule.id] = False
            continue
        try:
            fault_id = await sync_to_async(_fire)(rule, first, rule.effect, recipient, server.client)
        except DatabaseError:
            log_event(log, "faults_fire_failed", logging.WARNING, exc_info=True, rule=rule.name)
            fault_id = None
        if fault_id is None:
            book.mark_used_up(rule)
            state.decisions[rule.id] = False
            continue
        state.decisions[rule.id] = True
        state.unlinked.append(fault_id)
        state.fired.append(f"{rule.name}@{rule.stage}")
        metrics.fault_injected(rule.stage, rule.effect)
        return rule
    return None


async def _answer(server, rule: Rule | None) -> str | None:
    """Wait the rule's delay, then its reply (None: the normal reply follows)."""
    if rule is None:
        return None
    if rule.delay:
        await asyncio.sleep(rule.delay)
    if not rule.reply:
        return None
    server.refusal_reason = "fault_rule"
    if rule.reply.startswith("421"):
        # 421 means the server closes the connection: it does, once the reply is out.
        server.close_after_reply = f"fault rule '{rule.name}'"
    return rule.reply


async def at_auth(server, inbox_id: int) -> str | None:
    """Credentials were right: the reply instead of 235, or None."""
    return await _answer(server, await _first_firing(server, inbox_id, Stage.AUTH))


async def at_mail(server, sender: str) -> str | None:
    """A new transaction begins: the reply instead of 250, or None."""
    if server.faults is not None:
        server.faults.decisions.clear()
        server.faults.unlinked.clear()
        server.faults.delay_before_250 = None
    return await _answer(server, await _first_firing(server, server.inbox_id, Stage.MAIL, sender))


async def at_rcpt(server, sender: str, recipient: str) -> str | None:
    """The reply instead of accepting `recipient`, or None."""
    rule = await _first_firing(server, server.inbox_id, Stage.RCPT, sender, [recipient], recipient)
    return await _answer(server, rule)


async def at_data(server, sender: str, recipients: list[str]) -> str | None:
    """The message is in: a reply instead of storing it, "" when the connection was closed, or None (store it).

    A rule that only delays is remembered and spent in `before_250`, after the commit.
    """
    rule = await _first_firing(server, server.inbox_id, Stage.DATA, sender, recipients)
    if rule is None:
        return None
    if rule.effect == Effect.DELAYED:
        _state(server).delay_before_250 = rule
        return None
    if rule.disconnect:
        if rule.delay:
            await asyncio.sleep(rule.delay)
        server.close_now(None, reason=f"fault rule '{rule.name}'")
        return ""
    return await _answer(server, rule)


async def before_250(server, message) -> None:
    """The message is committed: record the faults of its transaction on it, then spend a DATA delay."""
    state = server.faults
    if state is None:
        return
    if state.unlinked:
        fault_ids, state.unlinked = state.unlinked, []
        try:
            await sync_to_async(link)(fault_ids, message.pk)
        except DatabaseError:
            # The message is stored and gets its 250; only the note on it is missing.
            log_event(log, "faults_link_failed", logging.WARNING, exc_info=True, message=message.pk)
    rule, state.delay_before_250 = state.delay_before_250, None
    if rule is not None:
        await asyncio.sleep(rule.delay)


def log_fields(server) -> dict:
    """For the session's log line: which rules fired (rule@stage, in order)."""
    if server.faults is None or not server.faults.fired:
        return {}
    return {"faults": server.faults.fired}
