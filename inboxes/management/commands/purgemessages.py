from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from inboxes.retention import BATCH_SIZE, purge


class Command(BaseCommand):
    help = (
        "Remove messages older than the maximum age (MAILDOG_MAX_MESSAGE_AGE_DAYS) and those beyond "
        "each inbox's cap. Safe to run at any time and from a scheduler (cron, systemd timer, "
        "platform scheduler); running it twice in a row removes nothing more."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--max-age-days",
            type=int,
            default=None,
            help="Remove messages received more than this many days ago "
            "(default: MAILDOG_MAX_MESSAGE_AGE_DAYS; 0 keeps messages of any age).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be removed without removing anything."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"Messages removed per transaction (default {BATCH_SIZE}).",
        )

    def handle(self, *args, **options):
        max_age_days = options["max_age_days"]
        if max_age_days is None:
            max_age_days = settings.MAILDOG_MAX_MESSAGE_AGE_DAYS
        if max_age_days < 0:
            raise CommandError("--max-age-days cannot be negative.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        result = purge(max_age_days, dry_run=options["dry_run"], batch_size=options["batch_size"])
        verb = "Would remove" if options["dry_run"] else "Removed"
        age = f"older than {max_age_days} days" if max_age_days else "no maximum age set"
        self.stdout.write(
            f"{verb} {result.total} messages: {result.expired} expired ({age}), "
            f"{result.over_cap} beyond their inbox's cap."
        )
