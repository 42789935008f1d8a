"""Webhook events from the SMTP process's signals; each receiver hands ids to the worker and returns."""

import asyncio

from django.dispatch import receiver

from deliverability.signals import checks_finished
from inboxes.signals import ingest_started, ingest_stopping, message_stored

from .worker import stop_worker, worker

# Longest the SMTP process's shutdown waits for the worker to save what it holds.
STOP_TIMEOUT = 5.0


@receiver(ingest_started)
async def start_webhook_worker(sender, **kwargs):
    """Also sends what a previous process left pending."""
    worker().wake()


@receiver(message_stored)
async def message_new(sender, message, **kwargs):
    worker().notify("message.new", [message.pk])


@receiver(checks_finished)
async def message_checked(sender, messages, **kwargs):
    worker().notify("message.checked", [message.pk for message in messages])


@receiver(ingest_stopping)
async def stop_webhook_worker(sender, grace, **kwargs):
    await asyncio.to_thread(stop_worker, min(grace, STOP_TIMEOUT))
