"""The Python client and the pytest plugin against a live Maildog (daphne and SMTP in one process).

Maildog runs as `manage.py serve` (the all-in-one server) on the test database,
so the waiting endpoint is served over ASGI and woken by the same events as in
production, with either channel layer.
"""

import os
import queue
import subprocess
import sys
import textwrap
import threading
import urllib.parse
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.mail import EmailMultiAlternatives, get_connection

from maildog_client import MaildogClient, MaildogError, MaildogTimeout
from maildog_client.pytest_plugin import MaildogConfig

from .conftest import make_user

ROOT = Path(__file__).resolve().parent.parent

# The server process reads what the tests write: it must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def key(member, inbox, api_key):
    return api_key(member, inbox)


@pytest.fixture
def maildog_config(maildog_server, key, inbox):
    """The plugin reads MAILDOG_URL and friends; here they come from the live server."""
    return MaildogConfig(url=maildog_server.url, token=key, inbox_id=inbox.pk)


def send(maildog_server, inbox, subject, body, to=("ann@example.com",), html=None):
    connection = get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host="localhost",
        port=maildog_server.starttls_port,
        username=inbox.smtp_username,
        password=inbox.smtp_password,
        use_tls=True,
        timeout=10,
    )
    email = EmailMultiAlternatives(subject, body, "app@example.com", list(to), connection=connection)
    if html:
        email.attach_alternative(html, "text/html")
    email.send()


def test_client_searches_with_the_query_language(maildog_server, trust_test_ca, maildog_client, inbox, key):
    client = maildog_client
    send(maildog_server, inbox, "Invoice 7", "Pay now, please.", to=["billing@example.com"])
    send(maildog_server, inbox, "Welcome", "Pay later.", to=["bob@example.com"])
    assert [m.subject for m in client.messages(inbox.pk, q="subject:invoice")] == ["Invoice 7"]
    assert [m.subject for m in client.messages(inbox.pk, q="pay -to:billing")] == ["Welcome"]
    assert client.wait_for_message(inbox.pk, q='"pay now"', timeout=5).subject == "Invoice 7"
    with pytest.raises(MaildogError) as refused:
        client.messages(inbox.pk, q="has:pets")
    assert refused.value.status == 400 and "has:attachment" in str(refused.value.detail)


def test_client_reads_waits_and_deletes(maildog_server, trust_test_ca, maildog_client, inbox, key):
    client = maildog_client
    send(maildog_server, inbox, "Welcome", "Hi!", to=["bob@example.com"])
    send(
        maildog_server,
        inbox,
        "Your code",
        "Your sign-in code is 482913.",
        html='<p>Code <b>482913</b>. <a href="https://app.example.com/verify?c=482913">Verify</a></p>',
    )

    assert [item["id"] for item in client.inboxes()] == [inbox.pk]
    assert [m.subject for m in client.messages(inbox.pk)] == ["Your code", "Welcome"]
    assert [m.subject for m in client.messages(inbox.pk, to="bob@")] == ["Welcome"]

    message = client.wait_for_message(inbox.pk, subject="code", timeout=5)
    assert message.code() == "482913"
    assert message.code(r"code is (\d+)") == "482913"
    assert message.link(r"/verify") == "https://app.example.com/verify?c=482913"
    assert message.link(text="verify") == "https://app.example.com/verify?c=482913"
    with pytest.raises(LookupError, match="Links:\n  https://app.example.com/verify"):
        message.link(r"/reset/")
    assert b"Subject: Your code" in message.raw()

    with pytest.raises(MaildogTimeout):
        client.wait_for_message(inbox.pk, subject="never sent", timeout=0.5)
    with pytest.raises(MaildogError) as refused:
        client.delete(inbox.pk, message.id)
    assert refused.value.status == 403  # an inbox-scoped token only reads


def test_full_token_deletes_and_clears(maildog_server, trust_test_ca, inbox, owner, api_key):
    client = MaildogClient(maildog_server.url, api_key(owner))
    send(maildog_server, inbox, "One", "1")
    send(maildog_server, inbox, "Two", "2")
    [two, one] = client.messages(inbox.pk)
    two.delete()
    assert [m.subject for m in client.messages(inbox.pk)] == ["One"]
    assert client.clear(inbox.pk) == 1
    assert client.messages(inbox.pk) == []
    with pytest.raises(MaildogError) as missing:
        client.message(inbox.pk, one.id)
    assert missing.value.status == 404


def test_fixture_waits_for_mail_sent_during_the_test(maildog_server, trust_test_ca, maildog, inbox):
    """The fixture's inbox sees only mail sent after the test began, waiting in another thread.

    (That a waiting request is woken by an arrival is shown in test_api_wait.py,
    where the test can see the request block before it sends.)
    """
    send(maildog_server, inbox, "Before the wait", "old")
    waiter = maildog.client
    result: queue.Queue = queue.Queue()
    thread = threading.Thread(
        target=lambda: result.put(maildog.wait_for_message(subject="Arrives later", timeout=60)), daemon=True
    )
    thread.start()
    # Whether it lands before or during the request, the fixture's baseline
    # (after_seq) makes the wait skip what was already there.
    send(maildog_server, inbox, "Arrives later", "new")
    message = result.get(timeout=60)
    assert message.subject == "Arrives later"
    assert message.seq == waiter.inbox(inbox.pk)["last_seq"]


@pytest.fixture
def app_sends_through_maildog(settings, maildog_server, inbox, trust_test_ca):
    """The application under test, configured as docs/api.md says: Django's SMTP backend to Maildog."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "localhost"
    settings.EMAIL_PORT = maildog_server.starttls_port
    settings.EMAIL_USE_TLS = True
    settings.EMAIL_HOST_USER = inbox.smtp_username
    settings.EMAIL_HOST_PASSWORD = inbox.smtp_password


@pytest.mark.urls("tests.password_reset_urls")
def test_password_reset_example(client, app_sends_through_maildog, maildog):
    """docs/api.md's complete example: PasswordResetView's email, waited for, its link followed."""
    make_user("ann@example.com", password="old password 1")

    response = client.post("/password_reset/", {"email": "ann@example.com"})
    assert response.status_code == 302

    email = maildog.wait_for_message(to="ann@example.com", subject="Password reset", timeout=30)
    reset_url = email.link(r"/reset/[^/]+/[^/]+/")
    response = client.get(urllib.parse.urlsplit(reset_url).path, follow=True)
    set_password_url = response.redirect_chain[-1][0]
    assert set_password_url.endswith("/set-password/")

    response = client.post(
        set_password_url, {"new_password1": "a new long passphrase", "new_password2": "a new long passphrase"}
    )
    assert response.status_code == 302 and response["Location"] == "/reset/done/"
    assert authenticate(username="ann@example.com", password="a new long passphrase") is not None
    assert authenticate(username="ann@example.com", password="old password 1") is None


def test_plugin_runs_in_a_test_suite_without_django(maildog_server, trust_test_ca, key, inbox, tmp_path):
    """A user's suite with nothing but the plugin: fixtures configured from MAILDOG_* variables."""
    (tmp_path / "test_signup.py").write_text(
        textwrap.dedent(
            """
        import os, smtplib, sys
        from email.message import EmailMessage

        def test_signup_mail(maildog):
            email = EmailMessage()
            email["From"], email["To"], email["Subject"] = "app@example.com", "new@example.com", "Confirm"
            email.set_content("Confirm: https://app.example.com/confirm/abc/ code 5521")
            with smtplib.SMTP("localhost", int(os.environ["SMTP_PORT"]), timeout=10) as smtp:
                smtp.starttls()
                smtp.login(os.environ["SMTP_USER"], os.environ["SMTP_PASSWORD"])
                smtp.send_message(email)
            message = maildog.wait_for_message(to="new@example.com", timeout=30)
            assert message.link("/confirm/") == "https://app.example.com/confirm/abc/"
            assert message.code() == "5521"
            assert "django" not in sys.modules
        """
        )
    )
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            "MAILDOG_URL": maildog_server.url,
            "MAILDOG_TOKEN": key,
            "MAILDOG_INBOX_ID": str(inbox.pk),
            "SMTP_PORT": str(maildog_server.starttls_port),
            "SMTP_USER": inbox.smtp_username,
            "SMTP_PASSWORD": inbox.smtp_password,
        }
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "maildog_client.pytest_plugin",
            "-q",
            "-p",
            "no:cacheprovider",
            "test_signup.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


@pytest.mark.django_db(transaction=False)
def test_plugin_reports_missing_configuration(tmp_path):
    (tmp_path / "test_x.py").write_text("def test_x(maildog):\n    pass\n")
    env = {name: value for name, value in os.environ.items() if not name.startswith(("MAILDOG_", "PYTEST_"))}
    env.update({"PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "maildog_client.pytest_plugin", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "MAILDOG_URL and MAILDOG_TOKEN" in result.stdout + result.stderr
