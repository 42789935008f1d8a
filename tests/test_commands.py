"""createinbox and firstrun: provisioning from the command line."""

import json
from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.models import FirstRun, Membership, Team
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
        assert "Sign in as: admin@localhost / " in output
        assert inbox.smtp_username in output and inbox.smtp_password in output
    email, password = (tmp_path / "first-login.txt").read_text().strip().split(" / ")
    assert membership.user.check_password(password)


def first_password(tmp_path):
    return (tmp_path / "first-login.txt").read_text().strip().split(" / ")[1]


def test_firstrun_after_a_password_change_does_not_show_the_old_password(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    run("firstrun")
    generated = first_password(tmp_path)
    user = FirstRun.objects.get().user
    user.set_password("chosen-by-the-user-7")
    user.save()

    output = run("firstrun")
    assert generated not in output and "chosen-by-the-user-7" not in output
    assert "Sign in as admin@localhost with the password you chose" in output
    assert "manage.py changepassword admin@localhost" in output
    # The stale credential is not kept either, and later runs say the same.
    assert not (tmp_path / "first-login.txt").exists()
    assert generated not in run("firstrun")


def test_firstrun_still_shows_a_password_that_was_only_hashed_anew(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    run("firstrun")
    generated = first_password(tmp_path)
    user = FirstRun.objects.get().user
    user.set_password(generated)  # the same password, a new salt: as when Django upgrades a hash at sign-in
    user.save()
    assert f"Sign in as: admin@localhost / {generated}" in run("firstrun")
    assert f"Sign in as: admin@localhost / {generated}" in run("firstrun")


def test_firstrun_after_renames_reports_the_renamed_inbox_and_creates_nothing(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    run("firstrun")
    inbox = Inbox.objects.get()
    inbox.name = "Checkout app"
    inbox.save()
    inbox.team.name = "Shop"
    inbox.team.save()
    user = FirstRun.objects.get().user
    user.email = "me@example.com"
    user.save()

    output = run("firstrun")
    assert Inbox.objects.count() == 1 and Team.objects.count() == 1
    assert get_user_model().objects.count() == 1
    assert "Inbox 'Checkout app' of team 'Shop'" in output and "Development" not in output
    assert inbox.smtp_username in output and inbox.smtp_password in output
    assert "Sign in as: me@example.com / " in output


def test_firstrun_does_not_recreate_a_deleted_inbox_or_user(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    run("firstrun")
    Inbox.objects.get().delete()
    output = run("firstrun")
    assert not Inbox.objects.exists()
    assert "first inbox that firstrun created was deleted" in output and "createinbox" in output
    FirstRun.objects.get().user.delete()
    output = run("firstrun")
    assert not get_user_model().objects.exists()
    assert "first user that firstrun created was deleted" in output and "createsuperuser" in output


def test_firstrun_adopts_what_an_earlier_version_created(db, settings, tmp_path):
    """Data from before the record: the existing user and inbox are taken over, the file checked once."""
    settings.DATA_DIR = tmp_path
    run("firstrun")
    generated = first_password(tmp_path)
    FirstRun.objects.all().delete()
    output = run("firstrun")
    assert Inbox.objects.count() == 1 and get_user_model().objects.count() == 1
    assert f"Sign in as: admin@localhost / {generated}" in output

    FirstRun.objects.all().delete()
    user = get_user_model().objects.get()
    user.set_password("changed-before-the-upgrade-9")
    user.save()
    output = run("firstrun")
    assert generated not in output and "changepassword" in output
    assert not (tmp_path / "first-login.txt").exists()


def test_firstrun_migrates_first_when_asked(settings, tmp_path, transactional_db):
    settings.DATA_DIR = tmp_path
    call_command("migrate", "accounts", "0004", verbosity=0)  # before FirstRun's table
    try:
        output = run("firstrun", "--migrate")
        assert "Sign in as: admin@localhost / " in output
        assert FirstRun.objects.get().inbox_id == Inbox.objects.get().pk
    finally:
        call_command("migrate", verbosity=0)
