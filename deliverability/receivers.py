"""The checks follow the SMTP process's life through `inboxes.signals`; the SMTP side never calls them.

Each receiver runs on the SMTP process's event loop (the signals are sent with
`asend`) and returns at once: the checks themselves run on worker threads.
With MAILDOG_AUTH_CHECKS_PROCESS on, they do nothing: a `runchecks` process
finds the stored messages in the database (`deliverability.poller`).
"""

import logging

from django.conf import settings
from django.dispatch import receiver

from inboxes.signals import ingest_started, ingest_stopping, message_stored

log = logging.getLogger("maildog.deliverability")


def _elsewhere() -> bool:
    """A `runchecks` process runs the checks; this one only stores mail.

    The checks' modules (and their DNS and public-suffix libraries, some 35 MB)
    are imported only where the checks run.
    """
    return settings.MAILDOG_AUTH_CHECKS_PROCESS


@receiver(ingest_started)
async def resume_unfinished_checks(sender, busy, **kwargs):
    """Let storing mail go first, and queue what the previous process left unchecked."""
    if _elsewhere():
        return
    from .service import check_queue, resume_checks

    check_queue().yield_to(busy)
    resumed = await resume_checks()
    if resumed:
        log.info("auth checks resumed for %d messages", resumed)


@receiver(message_stored)
async def check_stored_message(sender, message, **kwargs):
    """SPF/DKIM/DMARC need DNS: queued after the 250, never in front of it."""
    if _elsewhere():
        return
    from .service import schedule_check

    schedule_check(message.pk)


@receiver(ingest_stopping)
async def finish_or_hand_back_checks(sender, grace, **kwargs):
    """Finish queued checks within `grace` seconds; the rest are resumed at the next start."""
    if _elsewhere():
        return
    from .service import close_check_queue

    await close_check_queue(timeout=grace)
