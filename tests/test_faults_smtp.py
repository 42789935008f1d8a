"""Fault rules through Django's real SMTP backend, against the listener in this process."""

import smtplib
import socket
from datetime import timedelta

import pytest
from django.core.mail import EmailMessage
from django.utils import timezone

from faults.models import FaultRule, InjectedFault
from inboxes.models import Message
from tests.conftest import smtp_backend

pytestmark = pytest.mark.django_db(transaction=True)


def send(smtp_server, inbox, to=("alice@example.com",), timeout=10, implicit_tls=False, sender="app@example.com"):
    backend = smtp_backend(smtp_server, inbox, implicit_tls=implicit_tls)
    backend.timeout = timeout
    return EmailMessage("Hello", "Body", sender, list(to), connection=backend).send()


def rule(inbox, **fields):
    fields.setdefault("name", "rule")
    created = FaultRule(inbox=inbox, **fields)
    created.full_clean()
    created.save()
    return created


def test_a_rcpt_rule_for_one_message_refuses_it_then_lets_mail_through(smtp_server, inbox):
    rule(inbox, name="flaky-rcpt", stage="rcpt", reply="550 5.1.1 No such user", remaining=1)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(smtp_server, inbox, to=["bob@example.com"])
    assert refused.value.recipients == {"bob@example.com": (550, b"5.1.1 No such user")}
    assert send(smtp_server, inbox, to=["bob@example.com"]) == 1
    assert Message.objects.filter(inbox=inbox).count() == 1
    rule_row = FaultRule.objects.get()
    assert (rule_row.remaining, rule_row.hits) == (0, 1)
    [fault] = InjectedFault.objects.all()
    assert fault.message is None
    assert fault.describe() == "RCPT TO bob@example.com refused (550 5.1.1 No such user) by fault rule 'flaky-rcpt'"


def test_a_data_rule_refuses_the_message_and_nothing_is_stored(smtp_server, inbox):
    rule(inbox, stage="data", reply="451")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(smtp_server, inbox)
    assert refused.value.smtp_code == 451
    assert refused.value.smtp_error == b"4.3.0 Local error in processing, try again later"
    assert not Message.objects.exists()


def test_a_mail_rule_with_421_refuses_the_sender_and_closes_the_connection(smtp_server, inbox):
    rule(inbox, stage="mail", reply="421 4.7.0 Try again later", match_sender="*@noisy.test")
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        send(smtp_server, inbox, sender="app@noisy.test")
    assert refused.value.smtp_code == 421
    assert send(smtp_server, inbox, sender="app@quiet.test") == 1


def test_an_auth_rule_refuses_correct_credentials(smtp_server, inbox):
    rule(inbox, stage="auth", reply="554 5.7.1 Not today")
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        send(smtp_server, inbox)
    assert refused.value.smtp_code == 554
    # smtplib tries PLAIN, then LOGIN: both refused, one rule decision for the session.
    assert set(InjectedFault.objects.values_list("stage", flat=True)) == {"auth"}
    assert FaultRule.objects.get().hits == 1


def test_closing_mid_data_stores_nothing(smtp_server, inbox):
    rule(inbox, name="hang-up", stage="data", disconnect=True, remaining=1)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        send(smtp_server, inbox)
    assert not Message.objects.exists()
    assert InjectedFault.objects.get().describe() == "DATA answered by closing the connection by fault rule 'hang-up'"
    assert send(smtp_server, inbox) == 1


def test_a_delay_before_the_250_keeps_the_message_and_records_the_fault_on_it(smtp_server, inbox):
    rule(inbox, name="slow", stage="data", delay=0.5)
    assert send(smtp_server, inbox) == 1
    message = Message.objects.get()
    assert [fault.describe() for fault in message.injected_faults.all()] == [
        "DATA answered normally after 0.5 s by fault rule 'slow'"
    ]


def test_a_client_that_times_out_during_the_delay_finds_its_message_stored(smtp_server, inbox):
    """The delay is spent after the commit: the client gave up, but the message is not lost."""
    rule(inbox, name="slower-than-the-client", stage="data", delay=3)
    with pytest.raises((socket.timeout, TimeoutError, smtplib.SMTPServerDisconnected)):
        send(smtp_server, inbox, timeout=1)
    assert Message.objects.filter(inbox=inbox).count() == 1


def test_recipient_patterns_refuse_some_recipients_and_the_message_keeps_the_others(smtp_server, inbox):
    rule(inbox, name="bounces", stage="rcpt", reply="550", match_rcpt="*@bounce.test")
    assert send(smtp_server, inbox, to=["alice@example.com", "gone@bounce.test"]) == 1
    message = Message.objects.get()
    assert message.envelope_to == ["alice@example.com"]
    assert [fault.describe() for fault in message.injected_faults.all()] == [
        "RCPT TO gone@bounce.test refused (550 5.1.1 Mailbox unavailable) by fault rule 'bounces'"
    ]


def test_a_counted_rule_counts_messages_not_recipients(smtp_server, inbox):
    rule(inbox, name="two", stage="rcpt", reply="450", remaining=2)
    for _ in range(2):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            send(smtp_server, inbox, to=["a@example.com", "b@example.com"])
        assert set(refused.value.recipients) == {"a@example.com", "b@example.com"}
    assert send(smtp_server, inbox, to=["a@example.com", "b@example.com"]) == 1
    assert FaultRule.objects.get().hits == 2


def test_rules_that_do_not_apply(smtp_server, inbox, team):
    from inboxes.models import Inbox

    other = Inbox.objects.create(team=team, name="Other")
    rule(inbox, name="never", stage="rcpt", reply="550", probability=0)
    rule(inbox, name="expired", stage="rcpt", reply="550", expires_at=timezone.now() - timedelta(seconds=1))
    rule(other, name="elsewhere", stage="rcpt", reply="550")
    assert send(smtp_server, inbox) == 1
    assert not InjectedFault.objects.exists()


def test_a_rule_removed_stops_at_once(smtp_server, inbox):
    created = rule(inbox, stage="rcpt", reply="550")
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(smtp_server, inbox)
    created.delete()
    assert send(smtp_server, inbox) == 1


def test_the_message_page_shows_the_faults_of_its_transaction(smtp_server, inbox, member_client):
    rule(inbox, name="flaky-rcpt", stage="rcpt", reply="550 5.1.1 No such user", match_rcpt="bob@*")
    send(smtp_server, inbox, to=["alice@example.com", "bob@example.com"])
    message = Message.objects.get()
    html = member_client.get(message.get_absolute_url() + "?tab=envelope").content.decode()
    assert "RCPT TO bob@example.com refused (550 5.1.1 No such user) by fault rule &#x27;flaky-rcpt&#x27;" in html
    tab = member_client.get(f"/inboxes/{inbox.pk}/faults/").content.decode()
    assert f'<a href="{message.get_absolute_url()}">message</a>' in tab


def test_the_session_log_line_names_the_rules_that_fired(smtp_server, inbox, caplog):
    rule(inbox, name="flaky-rcpt", stage="rcpt", reply="450", remaining=1)
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(smtp_server, inbox)
    smtp_server.stop(grace=2)
    [line] = [record for record in caplog.records if getattr(record, "event", "") == "smtp_session"]
    assert line.fields["faults"] == ["flaky-rcpt@rcpt"]
    assert line.fields["refusals"] == ["450"]


def test_a_probability_decides_per_message(smtp_server, inbox, monkeypatch, client_tls_context):
    import random

    from faults import smtp as fault_hooks

    monkeypatch.setattr(fault_hooks, "chance", random.Random(1234))
    expected = random.Random(1234)
    rule(inbox, name="coin", stage="rcpt", reply="451", probability=0.5)
    outcomes = []
    with smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10) as client:
        client.starttls(context=client_tls_context)
        client.login(inbox.smtp_username, inbox.smtp_password)
        for n in range(20):
            client.mail("app@example.com")
            # Two recipients: the second follows the decision made for the first.
            codes = [client.rcpt(f"{who}{n}@example.com")[0] for who in ("a", "b")]
            outcomes.append(codes)
            client.rset()
    assert outcomes == [[451, 451] if expected.random() < 0.5 else [250, 250] for _ in range(20)]
    assert {451, 250} <= {codes[0] for codes in outcomes}
    assert FaultRule.objects.get().hits == sum(codes[0] == 451 for codes in outcomes)
