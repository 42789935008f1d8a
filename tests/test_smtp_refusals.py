"""Each refusal gets its SMTP code and stores nothing."""

import asyncio
import base64
import smtplib
import ssl

import pytest

from inboxes.models import Message

MESSAGE = b"From: app@example.com\r\nTo: a@example.com\r\nSubject: Hello\r\n\r\nHi\r\n"


def connect(smtp_server, client_tls_context):
    client = smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10)
    client.starttls(context=client_tls_context)
    return client


def test_wrong_password_is_535_and_nothing_stored(smtp_server, inbox, client_tls_context):
    client = connect(smtp_server, client_tls_context)
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        client.login(inbox.smtp_username, "not the password")
    assert refused.value.smtp_code == 535
    assert refused.value.smtp_error.startswith(b"5.7.8")
    code, reply = client.docmd("MAIL FROM:<app@example.com>")
    assert (code, reply) == (530, b"5.7.0 Authentication required")
    client.close()
    assert not Message.objects.exists()


def test_unknown_user_is_535(smtp_server, inbox, client_tls_context):
    client = connect(smtp_server, client_tls_context)
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        client.login("nobody", inbox.smtp_password)
    assert refused.value.smtp_code == 535
    client.close()


@pytest.mark.parametrize("username", ["user\x00name", "x" * 65], ids=["nul", "too-long"])
def test_a_username_no_inbox_can_have_is_535_not_a_temporary_failure(
    smtp_server, inbox, client_tls_context, username, caplog
):
    # PostgreSQL refuses NUL in text: asked as is, the lookup failed and the client was told 454 (retry).
    client = connect(smtp_server, client_tls_context)
    client.ehlo()
    # AUTH LOGIN: PLAIN cannot carry a NUL inside the username (it separates the fields).
    assert client.docmd("AUTH LOGIN", base64.b64encode(username.encode()).decode())[0] == 334
    assert client.docmd(base64.b64encode(inbox.smtp_password.encode()).decode())[0] == 535
    assert client.login(inbox.smtp_username, inbox.smtp_password)[0] == 235
    client.close()
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


def test_auth_before_starttls_is_refused(smtp_server, inbox):
    client = smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10)
    client.ehlo()
    assert client.has_extn("starttls")
    assert not client.has_extn("auth"), "AUTH must not be offered before TLS"
    code, reply = client.docmd("AUTH PLAIN", "AHVzZXIAcGFzcw==")
    assert (code, reply) == (530, b"5.7.0 Must issue a STARTTLS command first")
    client.close()
    assert not Message.objects.exists()


def test_mail_before_starttls_says_to_start_tls(smtp_server, inbox):
    """What curl shows when the app forgot TLS: the reply tells what to do."""
    client = smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10)
    client.ehlo()
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        client.sendmail("app@example.com", ["a@example.com"], MESSAGE)
    assert refused.value.smtp_code == 530
    assert refused.value.smtp_error == b"5.7.0 Must issue a STARTTLS command first"
    # After STARTTLS the same session logs in and sends.
    client.starttls(context=ssl.create_default_context())
    client.login(inbox.smtp_username, inbox.smtp_password)
    assert client.sendmail("app@example.com", ["a@example.com"], MESSAGE) == {}
    client.quit()
    assert Message.objects.count() == 1


def test_mail_without_auth_is_530(smtp_server, inbox, client_tls_context):
    client = connect(smtp_server, client_tls_context)
    client.ehlo()
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        client.sendmail("app@example.com", ["a@example.com"], MESSAGE)
    assert refused.value.smtp_code == 530
    assert refused.value.smtp_error == b"5.7.0 Authentication required"
    client.close()
    assert not Message.objects.exists()


def test_oversize_message_is_552(smtp_server, inbox, client_tls_context, settings):
    settings.MAILDOG_MAX_MESSAGE_BYTES = 10_000  # read for each new connection
    client = connect(smtp_server, client_tls_context)
    client.ehlo()
    assert client.esmtp_features["size"] == "10000"
    client.login(inbox.smtp_username, inbox.smtp_password)
    big = MESSAGE + b"".join(b"QUJD" * 19 + b"\r\n" for _ in range(300))
    # Declared too large: refused at MAIL FROM.
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        client.sendmail("app@example.com", ["a@example.com"], big)
    assert refused.value.smtp_code == 552
    # Undeclared (no SIZE parameter): refused after DATA.
    client.rset()
    client.mail("app@example.com")
    client.rcpt("a@example.com")
    code, _ = client.data(big)
    assert code == 552
    # The session goes on: a message within the limit is taken.
    assert client.sendmail("app@example.com", ["a@example.com"], MESSAGE) == {}
    client.quit()
    assert Message.objects.count() == 1


def test_too_many_recipients_is_452(smtp_server, inbox, client_tls_context, settings):
    settings.MAILDOG_MAX_RECIPIENTS = 3
    client = connect(smtp_server, client_tls_context)
    client.login(inbox.smtp_username, inbox.smtp_password)
    client.mail("app@example.com")
    for n in range(3):
        assert client.rcpt(f"user{n}@example.com")[0] == 250
    code, reply = client.rcpt("user4@example.com")
    assert code == 452
    assert reply.startswith(b"4.5.3 Too many recipients")
    # The accepted recipients still get the message.
    assert client.data(MESSAGE)[0] == 250
    client.quit()
    message = Message.objects.get()
    assert message.envelope_to == ["user0@example.com", "user1@example.com", "user2@example.com"]


@pytest.fixture
def three_failures_allowed(settings):
    settings.MAILDOG_AUTH_MAX_FAILURES = 3  # read when the listener starts


def test_repeated_auth_failures_are_slowed_then_refused(three_failures_allowed, smtp_server, inbox, client_tls_context):
    client = connect(smtp_server, client_tls_context)
    client.ehlo()
    codes = []
    for _ in range(4):
        code, _reply = client.docmd("AUTH PLAIN", "AHdyb25nAHdyb25n")  # \0wrong\0wrong
        codes.append(code)
    assert codes == [535, 535, 535, 454]
    # Even the right password is refused while the client is locked out.
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        client.login(inbox.smtp_username, inbox.smtp_password)
    assert refused.value.smtp_code == 454
    client.close()


def test_throttle_delays_grow_and_lockout_expires():
    from smtpd.throttle import AuthThrottle

    now = [1000.0]
    throttle = AuthThrottle(max_failures=3, window_seconds=60, clock=lambda: now[0])

    async def fail():
        assert await throttle.begin("192.0.2.1")
        return throttle.end("192.0.2.1", failed=True)

    async def scenario():
        delays = [await fail() for _ in range(3)]
        assert delays == sorted(delays) and delays[0] > 0 and delays[-1] > delays[0]
        assert not await throttle.begin("192.0.2.1")
        assert await throttle.begin("192.0.2.2"), "other clients are not affected"
        throttle.end("192.0.2.2", failed=False)
        now[0] += 61
        assert await throttle.begin("192.0.2.1")

    asyncio.run(scenario())


def test_throttle_success_does_not_reset_and_parallel_attempts_wait_for_a_slot():
    from smtpd.throttle import AuthThrottle

    throttle = AuthThrottle(max_failures=3, window_seconds=60)

    async def scenario():
        for _ in range(2):
            assert await throttle.begin("192.0.2.1")
            throttle.end("192.0.2.1", failed=True)
        assert await throttle.begin("192.0.2.1")
        throttle.end("192.0.2.1", failed=False)  # the attacker's own inbox: still 2 failures
        assert throttle.failures("192.0.2.1") == 2
        # One slot left: a second attempt in parallel waits for the first to end...
        assert await throttle.begin("192.0.2.1")
        waiting = asyncio.ensure_future(throttle.begin("192.0.2.1"))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        throttle.end("192.0.2.1", failed=True)
        # ...and is refused once that one failed.
        assert await waiting is False

    asyncio.run(scenario())


@pytest.mark.parametrize("initial_response", [True, False], ids=["with-initial-response", "challenge-only"])
def test_auth_login_mechanism(smtp_server, inbox, client_tls_context, initial_response):
    client = connect(smtp_server, client_tls_context)
    client.ehlo()
    assert set(client.esmtp_features["auth"].split()) == {"LOGIN", "PLAIN"}
    client.user, client.password = inbox.smtp_username, inbox.smtp_password
    code, _ = client.auth("LOGIN", client.auth_login, initial_response_ok=initial_response)
    assert code == 235
    assert client.sendmail("app@example.com", ["a@example.com"], MESSAGE) == {}
    client.quit()
    assert Message.objects.get().smtp_username == inbox.smtp_username


def test_auth_login_with_a_wrong_password_is_535(smtp_server, inbox, client_tls_context):
    client = connect(smtp_server, client_tls_context)
    client.ehlo()
    client.user, client.password = inbox.smtp_username, "wrong"
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        client.auth("LOGIN", client.auth_login)
    assert refused.value.smtp_code == 535
    client.close()
