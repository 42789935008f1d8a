"""`manage.py firstrun`: a first user, team and inbox for development, and how to use them.

`scripts/dev` runs it on every start. The first run creates the user (a superuser with a generated
password, kept in `first-login.txt` in the data directory, readable by its owner only), the team
and the inbox, and records them by id (`accounts.FirstRun`). Every later run reports those same
ones, whatever they were renamed to, and creates nothing: an inbox or user that was deleted is
reported as deleted. The generated password is shown only while it is still the user's password;
once it was changed, firstrun says how to set a new one instead.
"""

import secrets

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import FirstRun
from inboxes.integration import smtp_settings
from inboxes.models import Inbox
from inboxes.provisioning import get_or_create_inbox


class Command(BaseCommand):
    help = (
        "Make sure a first user, team and inbox exist, and print how to sign in and the inbox's "
        "SMTP settings. Safe to run on every start: after the first run it reports the same user "
        "and inbox (by id, renamed or not) and creates nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--email",
            default="admin@localhost",
            help="The first user's email (default admin@localhost). Used on the first run only.",
        )
        parser.add_argument("--team", default="My team", help="The first team's name. Used on the first run only.")
        parser.add_argument(
            "--inbox", default="Development", help="The first inbox's name. Used on the first run only."
        )
        parser.add_argument(
            "--migrate",
            action="store_true",
            help="Apply the database migrations first (scripts/dev: one start of Django instead of two).",
        )

    def handle(self, *args, **options):
        if options["migrate"]:
            call_command("migrate", interactive=False, verbosity=0, stdout=self.stdout, stderr=self.stderr)
        login_file = settings.DATA_DIR / "first-login.txt"
        record = FirstRun.objects.select_related("user").filter(pk=1).first()
        if record is None:
            record = self.set_up(options, login_file)

        self.stdout.write("")
        if record.user is None:
            self.stdout.write(
                "The first user that firstrun created was deleted; firstrun does not create another. "
                "Create one with `manage.py createsuperuser`, or sign up."
            )
        else:
            self.describe_login(record, login_file)
        inbox = Inbox.objects.select_related("team").filter(pk=record.inbox_id).first()
        if inbox is None:
            self.stdout.write(
                "The first inbox that firstrun created was deleted; firstrun does not create another. "
                "Create one on a team's page, or with `manage.py createinbox --team T --name N`."
            )
        else:
            self.describe_inbox(inbox)
        self.stdout.write("")

    @transaction.atomic
    def set_up(self, options, login_file) -> FirstRun:
        """The first run: create (or, for data from before the record existed, find) the user and inbox."""
        User = get_user_model()
        user = User.objects.filter(email__iexact=options["email"]).order_by("pk").first()
        if user is None:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_superuser(username=options["email"], email=options["email"], password=password)
            EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
            # A development convenience, only readable by the account running Maildog; shown by
            # later runs while it is still the password (see FirstRun.password_hash).
            login_file.parent.mkdir(parents=True, exist_ok=True)
            login_file.write_text(f"{user.email} / {password}\n")
            login_file.chmod(0o600)
            password_hash = user.password
        else:
            # Made by a firstrun from before FirstRun: vouch for its file once, the slow way.
            password = read_password(login_file)
            password_hash = user.password if password is not None and user.check_password(password) else ""
        inbox = get_or_create_inbox(options["team"], options["inbox"], owner=user)
        return FirstRun.objects.create(pk=1, user=user, inbox_id=inbox.pk, password_hash=password_hash)

    def describe_login(self, record, login_file):
        user = record.user
        password = self.vouched_password(record, login_file)
        if password is not None:
            self.stdout.write(f"Sign in as: {user.email} / {password}  (email / password)")
            return
        self.stdout.write(f"Sign in as {user.email} with the password you chose (firstrun does not know it).")
        self.stdout.write(f"  Forgot it? Set a new one with `manage.py changepassword {user.get_username()}`, or use")
        self.stdout.write(
            "  'Forgot your password?' on the sign-in page once Maildog's own mail reaches an inbox (README)."
        )

    def vouched_password(self, record, login_file) -> str | None:
        """The generated password if it is still the user's password, else None (and its file is removed)."""
        password = read_password(login_file)
        if password is None:
            return None
        user = record.user
        if not record.password_hash:
            login_file.unlink(missing_ok=True)
            return None
        if user.password == record.password_hash:
            return password
        # The hash changed: a new password, or the same one hashed anew (Django upgrades hashes at sign-in).
        if user.check_password(password):
            record.password_hash = user.password
            record.save(update_fields=["password_hash"])
            return password
        record.password_hash = ""
        record.save(update_fields=["password_hash"])
        login_file.unlink(missing_ok=True)
        return None

    def describe_inbox(self, inbox):
        smtp = smtp_settings(inbox)
        self.stdout.write(f"Inbox {inbox.name!r} of team {inbox.team.name!r} catches mail sent with:")
        self.stdout.write(f"  EMAIL_HOST = {smtp['host']!r}")
        self.stdout.write(f"  EMAIL_PORT = {smtp['port']}")
        self.stdout.write("  EMAIL_USE_TLS = True")
        self.stdout.write(f"  EMAIL_HOST_USER = {smtp['username']!r}")
        self.stdout.write(f"  EMAIL_HOST_PASSWORD = {smtp['password']!r}")


def read_password(login_file) -> str | None:
    """The password in `first-login.txt` ("email / password"), or None without the file."""
    try:
        text = login_file.read_text().strip()
    except FileNotFoundError:
        return None
    return text.rpartition(" / ")[2] or None
