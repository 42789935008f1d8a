"""Retention: the per-inbox cap (at ingest and by command) and the maximum age (by command)."""

import datetime
from io import StringIO

import pytest
from django.core.mail import send_mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from inboxes.ingest import SessionFacts
from inboxes.models import Inbox, Message

from .conftest import ingest, smtp_backend


def raw_message(subject: str) -> bytes:
    return (
        f"From: app@example.com\r\nTo: user@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '-')}@example.com>\r\n\r\nBody of {subject}\r\n"
    ).encode()


def store(inbox, subject, *, age_days=0):
    facts = SessionFacts(mail_from="app@example.com", rcpt_tos=["u@example.com"])
    message = ingest(inbox.pk, raw_message(subject), facts)
    if age_days:
        Message.objects.filter(pk=message.pk).update(received_at=timezone.now() - datetime.timedelta(days=age_days))
    return message


def subjects(inbox):
    return list(Message.objects.filter(inbox=inbox).order_by("seq").values_list("subject", flat=True))


def purge(*args):
    out = StringIO()
    call_command("purgemessages", *args, stdout=out)
    return out.getvalue()


def test_smtp_delivery_over_the_cap_keeps_the_newest(smtp_server, team):
    inbox = Inbox.objects.create(team=team, name="Capped", max_messages=3)
    connection = smtp_backend(smtp_server, inbox)
    for i in range(5):
        send_mail(f"Message {i}", "Hello", "app@example.com", ["user@example.com"], connection=connection)
    assert subjects(inbox) == ["Message 2", "Message 3", "Message 4"]


def test_purge_removes_messages_older_than_the_maximum_age(inbox, team, settings):
    settings.MAILDOG_MAX_MESSAGE_AGE_DAYS = 7
    other = Inbox.objects.create(team=team, name="Other")
    store(inbox, "old", age_days=8)
    store(inbox, "recent", age_days=6)
    store(inbox, "new")
    store(other, "other old", age_days=30)

    output = purge()

    assert subjects(inbox) == ["recent", "new"]
    assert subjects(other) == []
    assert "Removed 2 messages: 2 expired (older than 7 days), 0 beyond their inbox's cap." in output


def test_purge_keeps_messages_of_any_age_without_a_maximum_age(inbox, settings):
    settings.MAILDOG_MAX_MESSAGE_AGE_DAYS = 0
    store(inbox, "ancient", age_days=3650)
    assert "Removed 0 messages" in purge()
    assert subjects(inbox) == ["ancient"]


def test_max_age_option_overrides_the_setting(inbox, settings):
    settings.MAILDOG_MAX_MESSAGE_AGE_DAYS = 0
    store(inbox, "old", age_days=3)
    store(inbox, "new")
    purge("--max-age-days", "2")
    assert subjects(inbox) == ["new"]


def test_purge_enforces_a_lowered_cap_in_small_batches(inbox):
    for i in range(7):
        store(inbox, f"m{i}")
    Inbox.objects.filter(pk=inbox.pk).update(max_messages=2)

    output = purge("--batch-size", "2")

    assert subjects(inbox) == ["m5", "m6"]
    assert "5 beyond their inbox's cap" in output
    # Idempotent: a scheduler may run it again at any time.
    assert "Removed 0 messages" in purge()
    assert subjects(inbox) == ["m5", "m6"]


def test_dry_run_counts_without_removing(inbox, settings):
    settings.MAILDOG_MAX_MESSAGE_AGE_DAYS = 1
    store(inbox, "old", age_days=2)
    store(inbox, "new")
    output = purge("--dry-run")
    assert "Would remove 1 messages: 1 expired" in output
    assert subjects(inbox) == ["old", "new"]


def test_new_messages_after_a_purge_continue_the_sequence(inbox, settings):
    settings.MAILDOG_MAX_MESSAGE_AGE_DAYS = 1
    store(inbox, "old", age_days=2)
    purge()
    message = store(inbox, "after")
    assert message.seq == 2
    assert subjects(inbox) == ["after"]


@pytest.mark.parametrize("args", [["--max-age-days", "-1"], ["--batch-size", "0"]])
def test_invalid_options_are_refused(db, args):
    with pytest.raises(CommandError):
        purge(*args)
