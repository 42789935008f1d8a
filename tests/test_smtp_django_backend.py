"""Django's real SMTP backend, configured as in production, delivers into Maildog."""

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives, send_mail, send_mass_mail

from inboxes.models import Message

from .conftest import smtp_backend


@pytest.mark.parametrize("implicit_tls", [False, True], ids=["starttls", "implicit-tls"])
def test_send_mail_is_stored_with_envelope_and_tls_facts(smtp_server, inbox, implicit_tls):
    sent = send_mail(
        "Reset your password",
        "Follow https://app.example.com/reset/abc/ to reset.",
        "noreply@app.example.com",
        ["alice@example.com"],
        connection=smtp_backend(smtp_server, inbox, implicit_tls=implicit_tls),
    )
    assert sent == 1
    message = Message.objects.get(inbox=inbox)
    assert message.subject == "Reset your password"
    assert message.envelope_from == "noreply@app.example.com"
    assert message.envelope_to == ["alice@example.com"]
    assert message.from_header == "noreply@app.example.com"
    assert message.to_header == "alice@example.com"
    assert "https://app.example.com/reset/abc/" in message.text_body
    assert message.tls_version in ("TLSv1.2", "TLSv1.3")
    assert message.tls_cipher
    assert message.smtp_username == inbox.smtp_username
    assert message.client_ip == "127.0.0.1"
    assert message.message_id.startswith("<") and message.date is not None


def test_multi_alternatives_with_attachment_is_stored_byte_exactly(smtp_server, inbox, wire_recorder):
    email = EmailMultiAlternatives(
        "Your invoice",
        "Invoice attached.",
        "billing@app.example.com",
        ["bob@example.com"],
        cc=["accounts@example.com"],
        connection=smtp_backend(smtp_server, inbox),
    )
    email.attach_alternative("<p>Invoice <b>attached</b>.</p>", "text/html")
    email.attach("invoice.pdf", b"%PDF-1.4 fake invoice", "application/pdf")
    email.send()

    message = Message.objects.defer(None).get(inbox=inbox)
    [wire] = wire_recorder
    stored = bytes(message.raw)
    assert stored == wire
    assert message.size == len(stored)
    assert message.has_attachments
    assert message.cc_header == "accounts@example.com"
    assert sorted(message.envelope_to) == ["accounts@example.com", "bob@example.com"]


def test_send_mass_mail_stores_each_message_once(smtp_server, inbox):
    datatuple = [(f"Notification {i}", f"Body {i}", "app@example.com", [f"user{i}@example.com"]) for i in range(5)]
    connection = smtp_backend(smtp_server, inbox)
    assert send_mass_mail(datatuple, connection=connection) == 5
    subjects = sorted(Message.objects.filter(inbox=inbox).values_list("subject", flat=True))
    assert subjects == [f"Notification {i}" for i in range(5)]


def test_settings_based_backend_as_in_a_users_project(smtp_server, inbox, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "localhost"
    settings.EMAIL_PORT = smtp_server.starttls_port
    settings.EMAIL_USE_TLS = True
    settings.EMAIL_HOST_USER = inbox.smtp_username
    settings.EMAIL_HOST_PASSWORD = inbox.smtp_password
    mail.send_mail("Welcome", "Hi!", "app@example.com", ["new@example.com"])
    assert Message.objects.filter(inbox=inbox, subject="Welcome").count() == 1
