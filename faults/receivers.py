"""Keeping every process's copy of the rules current, following the SMTP process's life."""

import asyncio

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from inboxes.signals import ingest_started, ingest_stopping

from .book import book
from .listener import RuleListener, broadcast_change
from .models import FaultRule

_listeners: dict[asyncio.AbstractEventLoop, RuleListener] = {}


@receiver(post_save, sender=FaultRule)
@receiver(post_delete, sender=FaultRule)
def rules_changed(sender, **kwargs):
    """After the commit, this process and every SMTP process reload their rules."""
    transaction.on_commit(broadcast_change, robust=True)


@receiver(ingest_started)
async def listen_for_rule_changes(sender, **kwargs):
    """Rules are read afresh at start, then kept current by the broadcasts."""
    book.invalidate()
    listener = _listeners[asyncio.get_running_loop()] = RuleListener()
    listener.start()


@receiver(ingest_stopping)
async def stop_listening(sender, **kwargs):
    listener = _listeners.pop(asyncio.get_running_loop(), None)
    if listener is not None:
        await listener.stop()
