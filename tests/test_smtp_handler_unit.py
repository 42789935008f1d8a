"""The SMTP handler's decisions, called directly: no sockets, no TLS, no event loop of a server.

aiosmtpd calls these hooks with its Session and Envelope; here the tests build those
themselves and stand in for the connection (`connection`) with the few facts the
handler reads and records. The same behaviour over a real socket is in
test_smtp_protocol.py, test_smtp_refusals.py and test_smtp_storage.py.
"""

import asyncio
from types import SimpleNamespace

import pytest
from aiosmtpd.smtp import Envelope, LoginPassword, Session

from inboxes.models import Message
from smtpd.handler import MaildogHandler

# The credential check and storage run the ORM in asgiref's thread: committed data only.
pytestmark = pytest.mark.django_db(transaction=True)

RAW = b"From: app@example.com\r\nTo: user@example.com\r\nSubject: Unit\r\n\r\nLine one\r\n.dot line\r\n"


def connection(**facts):
    """What the handler knows of one SMTP connection (MaildogSMTP in the server)."""
    defaults = dict(client="192.0.2.10", inbox_id=None, stored=[], refusals=[], tls_facts=lambda: ("", ""), faults=None)
    return SimpleNamespace(**{**defaults, **facts})


def session(auth_login: bytes = b""):
    current = Session(asyncio.get_running_loop())
    current.peer = ("192.0.2.10", 40000)
    current.host_name = "app.example.com"
    if auth_login:
        current.auth_data = LoginPassword(auth_login, b"(not kept)")
    return current


@pytest.fixture
def handler(settings):
    settings.MAILDOG_AUTH_CHECKS = False  # the checks have their own tests
    return MaildogHandler()


async def test_mail_from_is_taken_and_refused_with_421_during_shutdown(handler):
    envelope = Envelope()
    assert await handler.handle_MAIL(connection(), session(), envelope, "app@example.com", []) == "250 2.1.0 OK"
    assert envelope.mail_from == "app@example.com"

    handler.shutting_down = True
    reply = await handler.handle_MAIL(connection(), session(), Envelope(), "app@example.com", [])
    assert reply.startswith("421 4.3.2 ")


async def test_recipients_past_the_limit_get_452(handler, settings):
    settings.MAILDOG_MAX_RECIPIENTS = 2
    envelope = Envelope()
    replies = [
        await handler.handle_RCPT(connection(), session(), envelope, f"user{n}@example.com", []) for n in range(3)
    ]
    assert [reply[:3] for reply in replies] == ["250", "250", "452"]
    assert "at most 2" in replies[2]
    assert envelope.rcpt_tos == ["user0@example.com", "user1@example.com"]


async def test_valid_credentials_open_their_inbox(handler, inbox):
    conn = connection()
    credentials = LoginPassword(inbox.smtp_username.encode(), inbox.smtp_password.encode())
    result = await handler.check_credentials(conn, credentials)
    assert result.success is True
    assert conn.inbox_id == inbox.pk


async def test_wrong_password_and_unknown_user_get_535(handler, inbox):
    for login, password in ((inbox.smtp_username, "wrong-password"), ("nobody", inbox.smtp_password)):
        conn = connection()
        result = await handler.check_credentials(conn, LoginPassword(login.encode(), password.encode()))
        assert result.success is False
        assert result.message.startswith("535 5.7.8 ")
        assert conn.inbox_id is None


async def test_data_stores_the_bytes_exactly_and_answers_with_the_id(handler, inbox):
    conn = connection(inbox_id=inbox.pk, tls_facts=lambda: ("TLSv1.3", "TLS_AES_256_GCM_SHA384"))
    envelope = Envelope()
    envelope.mail_from, envelope.rcpt_tos = "app@example.com", ["user@example.com"]
    envelope.original_content = RAW

    reply = await handler.handle_DATA(conn, session(inbox.smtp_username.encode()), envelope)
    await handler.announcer.drain(timeout=5)  # the live event, sent after the reply

    stored = await Message.objects.filter(inbox=inbox).values("pk", "raw", "envelope_from", "envelope_to").aget()
    assert reply == f"250 2.0.0 OK id={stored['pk']}"
    assert bytes(stored["raw"]) == RAW
    assert (stored["envelope_from"], stored["envelope_to"]) == ("app@example.com", ["user@example.com"])
    assert conn.stored == [stored["pk"]]
