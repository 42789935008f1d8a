import json

from django.core.management.base import BaseCommand

from inboxes.integration import smtp_settings
from inboxes.provisioning import get_or_create_inbox


class Command(BaseCommand):
    help = "Create (or reuse) a team and an inbox, and print the inbox's SMTP settings."

    def add_arguments(self, parser):
        parser.add_argument("--team", required=True, help="Team name; created if no team has it.")
        parser.add_argument("--name", required=True, help="Inbox name within the team; created if missing.")
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print one JSON object with host, port, username, password and inbox_id.",
        )

    def handle(self, *args, **options):
        inbox = get_or_create_inbox(options["team"], options["name"])
        smtp = smtp_settings(inbox)
        if options["json"]:
            keys = ("host", "port", "username", "password", "inbox_id")
            self.stdout.write(json.dumps({key: smtp[key] for key in keys}))
            return
        self.stdout.write(f"Inbox {inbox.name!r} of team {inbox.team.name!r} (id {inbox.pk})")
        self.stdout.write(f"  host:     {smtp['host']}")
        self.stdout.write(f"  STARTTLS: {', '.join(map(str, smtp['starttls_ports'])) or '-'}")
        self.stdout.write(f"  TLS:      {', '.join(map(str, smtp['tls_ports'])) or '-'}")
        self.stdout.write(f"  username: {smtp['username']}")
        self.stdout.write(f"  password: {smtp['password']}")
