"""`message.report` in the Python client, against a live Maildog that makes the report in the background."""

import pytest
from django.core.mail import EmailMultiAlternatives, get_connection

from maildog_client import MaildogClient, MaildogTimeout

# The server process reads what the tests write: it must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def send(maildog_server, inbox, subject, text, html):
    connection = get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host="localhost",
        port=maildog_server.starttls_port,
        username=inbox.smtp_username,
        password=inbox.smtp_password,
        use_tls=True,
        timeout=10,
    )
    email = EmailMultiAlternatives(
        subject, text, "Shop <orders@shop.maildog-tests.net>", ["ann@customer.maildog-tests.net"], connection=connection
    )
    email.attach_alternative(html, "text/html")
    email.send()


def test_assert_on_the_report_from_a_test_suite(maildog_server, trust_test_ca, inbox, member, api_key):
    client = MaildogClient(maildog_server.url, api_key(member, inbox))
    watch = client.watch(inbox.pk)
    link = "https://shop.maildog-tests.net/orders/7/"
    send(
        maildog_server,
        inbox,
        "Clean",
        f"Hello Ann,\nYour order: {link}\n",
        f'<p>Hello Ann,</p><a href="{link}">Order</a>',
    )
    send(
        maildog_server,
        inbox,
        "Broken",
        "Hi ,\nhttp://testserver/orders/7/\n",
        '<p>Hi ,</p><a href="/orders/7/">Order</a>',
    )

    clean = watch.wait_for_message(subject="Clean")
    broken = watch.wait_for_message(subject="Broken")

    assert clean.report.status == "complete"
    assert clean.report.errors == []
    assert clean.report.warnings == []
    assert {(f.check, f.part, f.line) for f in broken.report.errors} == {
        ("link-testserver", "text", 2),
        ("link-relative", "html", 1),
    }
    assert [f.text for f in broken.report.warnings if f.check == "missing-name"] == ["Hi ,", "Hi ,"]
    assert broken.report.find("link-relative")[0].fix.startswith("Build absolute URLs")
    assert "link-testserver" in repr(broken.report.errors)


def test_waiting_for_a_report_times_out(maildog_server, trust_test_ca, inbox, member, api_key, monkeypatch):
    client = MaildogClient(maildog_server.url, api_key(member, inbox))
    watch = client.watch(inbox.pk)
    send(maildog_server, inbox, "Slow", "Hello", "<p>Hello</p>")
    message = watch.wait_for_message(subject="Slow")
    monkeypatch.setattr(client, "_json", lambda *args, **kwargs: {"status": "pending"})

    with pytest.raises(MaildogTimeout, match="was not ready within 0.2 s"):
        client.report(inbox.pk, message.id, timeout=0.2)
