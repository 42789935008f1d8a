import asyncio
import os
import signal
import sys

import uvloop
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from deliverability.poller import CheckPoller
from deliverability.service import check_queue, close_check_queue
from deliverability.signals import checks_process_started, checks_process_stopping
from inboxes.search import indexer
from maildog_site.heap import freeze_startup_objects
from maildog_site.queries import stop_recording_queries
from metrics.exposition import serve_from_settings as serve_metrics

# Larger than the SMTP process's batches: nothing here waits on them but the verdicts on open pages.
BATCH_SIZE = 50
# Below the SMTP processes' priority: on a machine whose cores are busy taking mail, the 250s get the CPU
# and the checks fall behind, catching up as soon as a core is free (they are never stopped: see docs/scaling.md).
NICENESS = 10
# Seconds a thread may run before another waiting for the GIL gets it (Python's default: 0.005). A worker
# that saves a batch holds SQLite's write lock, which the SMTP process waits for; each time it comes back
# from the database it needs the GIL again, and the other worker, busy with a report, would keep it for up
# to the whole interval: shorter turns keep the write lock's hold near the time of the writes.
SWITCH_INTERVAL = 0.0005


class Command(BaseCommand):
    help = (
        "Run the SPF/DKIM/DMARC checks in a process of their own: checks every stored message not "
        "checked yet, as it arrives (on PostgreSQL it also writes new mail's search words). Pair it with "
        "MAILDOG_AUTH_CHECKS_PROCESS=1 on the SMTP processes (the Procfile's `checks` line)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--nice",
            type=int,
            default=NICENESS,
            help=f"Lower this process's CPU priority by this much (default {NICENESS}; 0 keeps it).",
        )

    def handle(self, *args, **options):
        if not settings.MAILDOG_AUTH_CHECKS:
            raise CommandError("MAILDOG_AUTH_CHECKS is off: there is nothing to run.")
        stop_recording_queries()
        os.nice(options["nice"])
        sys.setswitchinterval(SWITCH_INTERVAL)
        serve_metrics(self.stdout, setting="MAILDOG_CHECKS_METRICS_ADDR")  # when set
        uvloop.run(self.run())

    async def run(self):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        if connection.vendor == "postgresql":
            # The search words of new mail, off the SMTP processes' core too (inboxes.search.indexer).
            indexer.start_indexer()
        poller = CheckPoller(check_queue(BATCH_SIZE))
        resumed = await poller.start(stop)
        freeze_startup_objects()  # what start-up loaded stays out of every later collection
        await checks_process_started.asend(sender=Command)
        self.stdout.write(f"Checks running ({resumed} messages left unchecked by the last run are queued)")
        await poller.run(stop)
        self.stdout.write(f"Shutting down: finishing queued checks (up to {settings.MAILDOG_SHUTDOWN_GRACE}s)")
        await close_check_queue(settings.MAILDOG_SHUTDOWN_GRACE)
        # After the last verdicts, so that what reacts to them has them all before it stops.
        await checks_process_stopping.asend(sender=Command, grace=settings.MAILDOG_SHUTDOWN_GRACE)
        await asyncio.to_thread(indexer.stop_indexer, grace=settings.MAILDOG_SHUTDOWN_GRACE)
        self.stdout.write("Checks stopped")
