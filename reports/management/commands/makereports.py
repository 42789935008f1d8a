from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from inboxes.models import Message
from reports import service
from reports.models import Report


class Command(BaseCommand):
    help = (
        "Make the report on stored messages that have none (mail stored before reports existed, or while "
        "MAILDOG_REPORTS was off), newest first; --all makes every report again (after a Maildog upgrade)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--inbox", type=int, help="only this inbox (its id)")
        parser.add_argument("--all", action="store_true", help="also messages that have a report: make it again")
        parser.add_argument("--limit", type=int, help="at most this many messages")

    def handle(self, *args, inbox=None, all=False, limit=None, **options):
        if not settings.MAILDOG_REPORTS:
            raise CommandError("MAILDOG_REPORTS is off: reports are not made.")
        if limit is not None and limit < 1:
            raise CommandError("--limit must be positive")
        messages = Message.objects.order_by("-pk")
        if inbox is not None:
            messages = messages.filter(inbox_id=inbox)
        if not all:
            messages = messages.exclude(pk__in=Report.objects.values("message_id"))
        ids = list(messages.values_list("pk", flat=True)[:limit] if limit else messages.values_list("pk", flat=True))
        made = 0
        # One message at a time: each is read, reported on and saved alone (a 25 MB message holds only itself).
        for number, message_id in enumerate(ids, 1):
            message = Message.objects.filter(pk=message_id).first()
            if message is not None and service.rerun(message) is not None:
                made += 1
            if number % 100 == 0:
                self.stdout.write(f"{number:,} of {len(ids):,} messages")
        self.stdout.write(f"Made {made:,} reports.")
