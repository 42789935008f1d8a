"""Webhook events from the SMTP and checks processes' signals; each receiver hands ids to the worker and returns.

A worker runs in every process that makes events: the SMTP processes (`message.new`, and
`message.checked` where the checks run in-process) and `runchecks` (`message.checked`), so an event is
sent from where it happened, at once; deliveries are claimed in the database, never sent twice.
"""

import asyncio

from asgiref.sync import sync_to_async
from django.dispatch import receiver

from deliverability.signals import checks_finished, checks_process_started, checks_process_stopping
from inboxes.signals import ingest_started, ingest_stopping, message_stored

from .deliveries import queue_events
from .worker import stop_worker, worker

# Longest the SMTP process's shutdown waits for the worker to save what it holds.
STOP_TIMEOUT = 5.0


@receiver(ingest_started)
@receiver(checks_process_started)
async def start_webhook_worker(sender, **kwargs):
    """Also sends what a previous process left pending."""
    started = worker(start=True)
    assert started is not None
    started.wake()


async def _notify(event: str, messages) -> None:
    running = worker()
    pairs = [(message.pk, message.inbox_id) for message in messages]
    if running is not None:
        running.notify(event, pairs)
    else:
        # No worker (the process is stopping, its checks finishing last): saved for the next start to send.
        await sync_to_async(queue_events)([(event, message_id, inbox_id) for message_id, inbox_id in pairs])


@receiver(message_stored)
async def message_new(sender, message, **kwargs):
    await _notify("message.new", [message])


@receiver(checks_finished)
async def message_checked(sender, messages, **kwargs):
    await _notify("message.checked", messages)


@receiver(ingest_stopping)
@receiver(checks_process_stopping)
async def stop_webhook_worker(sender, grace, **kwargs):
    await asyncio.to_thread(stop_worker, min(grace, STOP_TIMEOUT))
