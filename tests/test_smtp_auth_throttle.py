"""The failed-AUTH limit holds under parallel attempts and is not reset by a success."""

import smtplib
from concurrent.futures import ThreadPoolExecutor

import pytest

WRONG = "AHVzZXIAd3Jvbmc="  # \0user\0wrong


@pytest.fixture
def five_failures_allowed(settings):
    settings.MAILDOG_AUTH_MAX_FAILURES = 5  # read when the listener starts


REPLIES = []  # every reply, shown when a test fails


def attempt(smtp_server, client_tls_context, credentials=WRONG):
    with smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=30) as client:
        client.starttls(context=client_tls_context)
        client.ehlo()
        code, reply = client.docmd("AUTH PLAIN", credentials)
        REPLIES.append((code, reply))
        return code


def test_parallel_wrong_passwords_do_not_pass_the_limit(five_failures_allowed, smtp_server, inbox, client_tls_context):
    with ThreadPoolExecutor(30) as pool:
        codes = list(pool.map(lambda _: attempt(smtp_server, client_tls_context), range(30)))
    assert sorted(codes) == [454] * 25 + [535] * 5


def test_a_successful_login_does_not_reset_the_count(five_failures_allowed, smtp_server, inbox, client_tls_context):
    import base64

    right = base64.b64encode(f"\0{inbox.smtp_username}\0{inbox.smtp_password}".encode()).decode()
    codes = []
    for _ in range(3):
        codes.append(attempt(smtp_server, client_tls_context))
        codes.append(attempt(smtp_server, client_tls_context, right))  # the attacker's own inbox
    assert codes == [535, 235, 535, 235, 535, 235], REPLIES
    assert [attempt(smtp_server, client_tls_context) for _ in range(3)] == [535, 535, 454], REPLIES
    assert attempt(smtp_server, client_tls_context, right) == 454, REPLIES


def test_parallel_logins_with_the_right_password_all_succeed(
    five_failures_allowed, smtp_server, inbox, client_tls_context
):
    import base64

    right = base64.b64encode(f"\0{inbox.smtp_username}\0{inbox.smtp_password}".encode()).decode()
    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(lambda _: attempt(smtp_server, client_tls_context, right), range(20)))
    assert codes == [235] * 20
