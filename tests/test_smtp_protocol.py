"""Protocol edge cases over real connections: encodings, long lines, dot-stuffing, sessions."""

import asyncio
import smtplib
import socket
import threading

import pytest

from inboxes.models import Message


def login(smtp_server, inbox, client_tls_context):
    client = smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10)
    client.starttls(context=client_tls_context)
    client.login(inbox.smtp_username, inbox.smtp_password)
    return client


def only_message():
    return Message.objects.defer(None).get()


def test_smtputf8_addresses_and_utf8_headers(smtp_server, inbox, client_tls_context):
    raw = "From: Zoë <zoë@exämple.com>\r\nTo: 用户@例子.广告\r\nSubject: Größe ✓\r\n\r\nGrüße\r\n".encode()
    client = login(smtp_server, inbox, client_tls_context)
    assert client.has_extn("smtputf8") and client.has_extn("8bitmime")
    client.sendmail("zoë@exämple.com", ["用户@例子.广告"], raw, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    client.quit()
    message = only_message()
    assert bytes(message.raw) == raw
    assert message.envelope_from == "zoë@exämple.com"
    assert message.envelope_to == ["用户@例子.广告"]
    assert message.subject == "Größe ✓"


def test_8bit_latin1_body_without_smtputf8(smtp_server, inbox, client_tls_context):
    raw = b"Subject: 8bit\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nCaf\xe9\r\n"
    client = login(smtp_server, inbox, client_tls_context)
    client.sendmail("app@example.com", ["a@example.com"], raw, mail_options=["BODY=8BITMIME"])
    client.quit()
    message = only_message()
    assert bytes(message.raw) == raw
    assert message.text_body.startswith("Café")


def test_dot_stuffing_is_undone_and_bytes_kept(smtp_server, inbox, client_tls_context):
    raw = b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nafter a lone dot\r\n"
    client = login(smtp_server, inbox, client_tls_context)
    client.sendmail("app@example.com", ["a@example.com"], raw)  # smtplib stuffs the dots
    client.quit()
    assert bytes(only_message().raw) == raw


def test_lines_over_1000_octets_are_accepted_and_flagged(smtp_server, inbox, client_tls_context):
    raw = b"Subject: long\r\n\r\n" + b"<td>" * 1000 + b"\r\n"
    client = login(smtp_server, inbox, client_tls_context)
    assert client.sendmail("app@example.com", ["a@example.com"], raw) == {}
    client.quit()
    message = only_message()
    assert bytes(message.raw) == raw
    assert message.has_long_lines


def test_broken_mime_over_smtp_is_stored(smtp_server, inbox, client_tls_context):
    raw = b'Subject: =?bogus?q?x?=\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n--y\r\ngarbage\r\n'
    client = login(smtp_server, inbox, client_tls_context)
    assert client.sendmail("app@example.com", ["a@example.com"], raw) == {}
    client.quit()
    message = only_message()
    assert bytes(message.raw) == raw
    assert message.parse_errors


def test_several_messages_in_one_session(smtp_server, inbox, client_tls_context):
    client = login(smtp_server, inbox, client_tls_context)
    for n in range(3):
        client.sendmail("app@example.com", [f"u{n}@example.com"], f"Subject: m{n}\r\n\r\nx\r\n".encode())
    client.quit()
    assert list(Message.objects.order_by("seq").values_list("subject", flat=True)) == ["m0", "m1", "m2"]


@pytest.fixture
def two_sessions_per_client(settings):
    settings.MAILDOG_MAX_SESSIONS_PER_CLIENT = 2


def test_sessions_per_client_are_limited(two_sessions_per_client, smtp_server, inbox):
    first = smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10)
    second = smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10)
    with pytest.raises(smtplib.SMTPConnectError) as refused:
        smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10)
    assert refused.value.smtp_code == 421
    first.quit()
    # A slot is free again once a session ends.
    third = smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10)
    assert third.noop()[0] == 250
    second.quit()
    third.quit()


def test_shutdown_finishes_the_message_in_flight_and_refuses_new_ones(smtp_server, inbox, client_tls_context):
    client = login(smtp_server, inbox, client_tls_context)
    client.mail("app@example.com")
    client.rcpt("a@example.com")
    client.putcmd("data")
    assert client.getreply()[0] == 354
    # Shut down while the message is half sent.
    stopping = asyncio.run_coroutine_threadsafe(smtp_server.service.stop(10), smtp_server.loop)
    for _ in range(100):  # the listening socket closes first
        try:
            socket.create_connection((smtp_server.host, smtp_server.starttls_port), timeout=1).close()
        except (ConnectionRefusedError, ConnectionResetError):
            # Refused, or reset when the connection raced the listening socket's close.
            break
        threading.Event().wait(0.05)
    else:
        pytest.fail("still accepting connections during shutdown")
    client.send(b"Subject: in flight\r\n\r\nfinished during shutdown\r\n.\r\n")
    code, _ = client.getreply()
    assert code == 250
    # The next message on that session is turned away with a retryable code.
    assert client.docmd("MAIL FROM:<app@example.com>")[0] == 421
    client.close()
    stopping.result(10)
    assert only_message().subject == "in flight"


def test_commands_sent_in_clear_after_starttls_are_forgotten(smtp_server, client_tls_context):
    """RFC 3207 4.2: a command injected behind STARTTLS in clear text is not run over TLS."""
    with socket.create_connection((smtp_server.host, smtp_server.starttls_port), timeout=10) as raw:
        reader = raw.makefile("rb")
        assert reader.readline().startswith(b"220")
        raw.sendall(b"EHLO client.example\r\n")
        while not reader.readline().startswith(b"250 "):
            pass
        raw.sendall(b"STARTTLS\r\nQUIT\r\n")  # QUIT smuggled in before the handshake
        assert reader.readline().startswith(b"220")
        with client_tls_context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"EHLO client.example\r\n")  # right away, as smtplib does
            first = tls.recv(4096)
            assert first.startswith(b"250-"), first  # the EHLO's answer, not QUIT's 221


def test_the_ehlo_reply_is_written_at_once(smtp_server, client_tls_context, monkeypatch):
    """Each line on its own would be a TLS record and a send of its own, on every new connection."""
    writes = []
    write = asyncio.StreamWriter.write

    def recording_write(self, data):
        writes.append(bytes(data))
        return write(self, data)

    monkeypatch.setattr(asyncio.StreamWriter, "write", recording_write)
    client = smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10)
    client.ehlo()
    client.starttls(context=client_tls_context)
    client.ehlo()
    assert client.has_extn("auth") and client.has_extn("size")
    client.quit()
    replies = [data for data in writes if data.startswith(b"250-")]
    assert len(replies) == 2, replies
    before_tls, after_tls = replies
    assert b"250-STARTTLS\r\n" in before_tls and b"250-AUTH" not in before_tls
    assert b"250-AUTH LOGIN PLAIN\r\n" in after_tls and b"250-STARTTLS" not in after_tls
    assert all(reply.endswith(b"\r\n250 HELP\r\n") for reply in replies)
