import secrets

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from inboxes.integration import smtp_settings
from inboxes.provisioning import get_or_create_inbox


class Command(BaseCommand):
    help = (
        "Make sure a first user, team and inbox exist, and print how to log in and the inbox's "
        "SMTP settings. Safe to run on every start."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--email", default="admin@localhost", help="The first user's email (default admin@localhost)."
        )
        parser.add_argument("--team", default="My team", help="The first team's name.")
        parser.add_argument("--inbox", default="Development", help="The first inbox's name.")

    def handle(self, *args, **options):
        User = get_user_model()
        login_file = settings.DATA_DIR / "first-login.txt"
        user = User.objects.filter(email__iexact=options["email"]).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_superuser(username=options["email"], email=options["email"], password=password)
            EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
            # Kept so that later starts can repeat it; a development convenience
            # only readable by the account running Maildog.
            login_file.write_text(f"{user.email} / {password}\n")
            login_file.chmod(0o600)
        inbox = get_or_create_inbox(options["team"], options["inbox"], owner=user)
        smtp = smtp_settings(inbox)

        self.stdout.write("")
        if login_file.exists():
            self.stdout.write(f"Log in as: {login_file.read_text().strip()}  (email / password)")
        else:
            self.stdout.write(f"Log in as {user.email} (reset the password with `manage.py changepassword`)")
        self.stdout.write(f"Inbox {inbox.name!r} of team {inbox.team.name!r} catches mail sent with:")
        self.stdout.write(f"  EMAIL_HOST = {smtp['host']!r}")
        self.stdout.write(f"  EMAIL_PORT = {smtp['port']}")
        self.stdout.write("  EMAIL_USE_TLS = True")
        self.stdout.write(f"  EMAIL_HOST_USER = {smtp['username']!r}")
        self.stdout.write(f"  EMAIL_HOST_PASSWORD = {smtp['password']!r}")
        self.stdout.write("")
