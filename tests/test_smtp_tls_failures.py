"""A client that rejects the certificate, or never finishes the handshake, costs one log line."""

import logging
import smtplib
import socket
import ssl

import pytest
import trustme
from django.core.mail import send_mail

from inboxes.models import Message
from tests.conftest import smtp_backend
from tests.smtp_process import wait_until


@pytest.fixture
def untrusting_client(tmp_path, monkeypatch):
    """Apps whose default SSL context trusts some other CA, not the server's: the newcomer's mistake."""
    path = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    monkeypatch.setenv("SSL_CERT_FILE", str(path))


def session_lines(caplog):
    return [record for record in caplog.records if getattr(record, "event", None) == "smtp_session"]


@pytest.mark.parametrize("implicit_tls", [False, True], ids=["starttls", "implicit-tls"])
def test_rejected_certificate_is_one_session_line(smtp_server, inbox, untrusting_client, caplog, implicit_tls):
    caplog.set_level(logging.INFO)
    connection = smtp_backend(smtp_server, inbox, implicit_tls=implicit_tls)
    with pytest.raises(ssl.SSLCertVerificationError):
        send_mail("Hi", "Hi", "app@example.com", ["a@example.com"], connection=connection)
    assert wait_until(lambda: session_lines(caplog), 5)
    [record] = session_lines(caplog)
    assert record.fields["outcome"] == "tls_failed"
    assert record.fields["reason"].startswith("the client does not trust the server certificate (")
    # No traceback, nothing louder than INFO, from Maildog, aiosmtpd or asyncio.
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert not Message.objects.exists()


@pytest.fixture
def short_handshakes(settings):
    settings.MAILDOG_SMTP_TLS_HANDSHAKE_TIMEOUT = 1
    settings.MAILDOG_MAX_SESSIONS_PER_CLIENT = 3


def test_implicit_tls_sessions_are_counted_before_the_handshake(
    short_handshakes, smtp_server, inbox, client_tls_context, caplog
):
    caplog.set_level(logging.INFO, logger="maildog.smtp")
    silent = [socket.create_connection((smtp_server.host, smtp_server.tls_port)) for _ in range(3)]
    # The client's limit is reached by connections that never sent a ClientHello...
    with pytest.raises(smtplib.SMTPConnectError) as over:
        smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10)
    assert over.value.smtp_code == 421
    # ...until the handshake timeout drops them.
    for sock in silent:
        sock.settimeout(10)
        assert sock.recv(1) == b""
        sock.close()
    client = smtplib.SMTP_SSL(smtp_server.host, smtp_server.tls_port, context=client_tls_context, timeout=10)
    client.login(inbox.smtp_username, inbox.smtp_password)
    assert client.sendmail("app@example.com", ["a@example.com"], b"Subject: after\r\n\r\nx\r\n") == {}
    client.quit()
    reasons = [record.fields.get("reason") for record in session_lines(caplog)]
    assert reasons.count("TLS handshake not finished in time") == 3


def test_starttls_handshake_has_a_timeout(short_handshakes, smtp_server, inbox, caplog):
    caplog.set_level(logging.INFO, logger="maildog.smtp")
    client = smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10)
    client.ehlo()
    assert client.docmd("STARTTLS")[0] == 220
    # No ClientHello follows: the server closes the connection after the timeout.
    assert client.sock.recv(1) == b""
    client.close()
    assert wait_until(lambda: session_lines(caplog), 5)
    [record] = session_lines(caplog)
    assert (record.fields["outcome"], record.fields["reason"]) == ("tls_failed", "TLS handshake not finished in time")
