"""createinbox and firstrun: provisioning from the command line."""

import json
from io import StringIO

from django.core.management import call_command

from accounts.models import Membership, Team
from inboxes.models import Inbox


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_createinbox_json_for_ci_pipelines(db, settings):
    settings.MAILDOG_SMTP_HOSTNAME = "mail.example.test"
    settings.MAILDOG_SMTP_PORTS = "2525:starttls,465:tls"
    data = json.loads(run("createinbox", "--team", "CI", "--name", "Pipeline", "--json"))
    inbox = Inbox.objects.get(pk=data["inbox_id"])
    assert set(data) == {"host", "port", "username", "password", "inbox_id"}
    assert data["host"] == "mail.example.test"
    assert data["port"] == 2525
    assert (data["username"], data["password"]) == (inbox.smtp_username, inbox.smtp_password)
    assert inbox.team.name == "CI" and inbox.name == "Pipeline"


def test_createinbox_reuses_existing_team_and_inbox(db):
    first = json.loads(run("createinbox", "--team", "CI", "--name", "Pipeline", "--json"))
    second = json.loads(run("createinbox", "--team", "CI", "--name", "Pipeline", "--json"))
    assert first == second
    assert Team.objects.count() == 1 and Inbox.objects.count() == 1


def test_createinbox_human_output(db):
    output = run("createinbox", "--team", "QA", "--name", "Staging")
    inbox = Inbox.objects.get()
    assert inbox.smtp_username in output and inbox.smtp_password in output
    assert "STARTTLS" in output


def test_firstrun_creates_an_owner_once_and_prints_how_to_log_in(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    first = run("firstrun")
    second = run("firstrun")
    membership = Membership.objects.get()
    assert membership.role == Membership.Role.OWNER and membership.user.is_superuser
    inbox = Inbox.objects.get()
    for output in (first, second):
        assert "admin@localhost / " in output
        assert inbox.smtp_username in output and inbox.smtp_password in output
    email, password = (tmp_path / "first-login.txt").read_text().strip().split(" / ")
    assert membership.user.check_password(password)
