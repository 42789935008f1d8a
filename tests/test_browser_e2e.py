"""End to end in a real headless Chromium against a real Maildog process.

Maildog runs as it does for a developer: `manage.py serve` (daphne for HTTP and
websockets, plus the SMTP listeners with the development CA) on free ports,
against the test database. Its own emails go to its own SMTP server, into a
"Maildog mail" inbox, where the test picks up the verification link.
"""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from playwright.sync_api import expect

from accounts.models import Team
from inboxes.models import Inbox, Message

from .conftest import PASSWORD, store_message

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_USER, SYSTEM_PASSWORD = "maildog-system", "system-inbox-password-for-tests"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url():
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_until_up(url, process, log_path, deadline=60):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"maildog serve exited:\n{Path(log_path).read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"maildog serve did not start:\n{Path(log_path).read_text()}")


class LiveMaildog:
    def __init__(self, http_port, starttls_port, tls_port):
        self.url = f"http://127.0.0.1:{http_port}"
        self.starttls_port, self.tls_port = starttls_port, tls_port


@pytest.fixture(scope="module")
def live_maildog(django_db_setup, django_db_blocker, tmp_path_factory, loopback_dns_server):
    """`manage.py serve` in a subprocess, on free ports, using the test database."""
    live = LiveMaildog(free_port(), free_port(), free_port())
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "ACCOUNT_DEFAULT_HTTP_PROTOCOL": "http",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "MAILDOG_SMTP_HOSTNAME": "localhost",
        "MAILDOG_SMTP_BIND": "127.0.0.1",
        "MAILDOG_SMTP_PORTS": f"{live.starttls_port}:starttls,{live.tls_port}:tls",
        # Maildog's own mail goes to its own SMTP server, verified against its development CA.
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "localhost",
        "EMAIL_PORT": str(live.starttls_port),
        "EMAIL_USE_TLS": "1",
        "EMAIL_HOST_USER": SYSTEM_USER,
        "EMAIL_HOST_PASSWORD": SYSTEM_PASSWORD,
        "SSL_CERT_FILE": str(settings.DATA_DIR / "tls" / "maildog-ca.pem"),
        "PYTHONUNBUFFERED": "1",
        # The SPF/DKIM/DMARC checks resolve through the tests' loopback DNS server.
        "MAILDOG_DNS_NAMESERVERS": loopback_dns_server.nameserver,
        "MAILDOG_DNS_TIMEOUT": "30",
    }
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--http-port", live.url.rsplit(":", 1)[1]],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(live.url + "/accounts/login/", process, log_path)
        yield live
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture
def system_inbox(transactional_db):
    """The inbox that catches Maildog's own mail (credentials fixed in the server's environment)."""
    team = Team.objects.create(name="Maildog operators")
    return Inbox.objects.create(
        team=team, name="Maildog mail", smtp_username=SYSTEM_USER, smtp_password=SYSTEM_PASSWORD
    )


def caught_link(inbox, subject_part, pattern):
    message = Message.objects.filter(inbox=inbox, subject__contains=subject_part).order_by("-seq").first()
    assert message is not None, f"no message with {subject_part!r} in {inbox}"
    return re.search(pattern, message.text_body).group(0)


def test_signup_to_live_message_and_its_links(live_maildog, page, system_inbox, tmp_path, monkeypatch):
    live = live_maildog.url
    # Sign up; the verification email is caught by Maildog itself.
    page.goto(live + "/accounts/signup/")
    page.fill("input[name=email]", "dev@example.com")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))
    link = caught_link(system_inbox, "Confirm your email", r"http://127\.0\.0\.1:\d+/accounts/confirm-email/\S+")
    page.goto(link)
    page.click("form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Your inboxes")
    expect(page.locator("main")).to_contain_text("dev@example.com's team")

    # A team and an inbox, then the SMTP settings from the Integration tab.
    page.click("text=+ New team")
    page.fill("input[name=name]", "Web QA")
    page.click("main form button")
    expect(page.locator("h1")).to_have_text("Web QA")
    page.click("main >> text=New inbox")
    page.fill("input[name=name]", "Signup flow")
    page.click("main form button")
    expect(page.locator("#smtp-settings")).to_be_visible()
    host = page.text_content("#smtp-host")
    port = int(page.text_content("#smtp-port-starttls"))
    username, password = page.text_content("#smtp-username"), page.text_content("#smtp-password")
    assert (host, port) == ("localhost", live_maildog.starttls_port)
    ca = page.request.get(live + "/tls/maildog-ca.pem")
    assert ca.ok
    (tmp_path / "maildog-ca.pem").write_bytes(ca.body())
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "maildog-ca.pem"))

    # The open inbox page receives the message live, without a reload.
    page.click("nav.tabs >> text=Messages")
    expect(page.locator("#live-status")).to_contain_text("Live")
    page.evaluate("window.__notReloaded = true")
    inbox = Inbox.objects.get(name="Signup flow")
    target = live + "/accounts/password/reset/"
    email = EmailMultiAlternatives(
        "Reset your password",
        f"Reset it at {target}",
        "noreply@app.example.com",
        ["dev@example.com"],
        connection=get_connection(
            "django.core.mail.backends.smtp.EmailBackend",
            host=host,
            port=port,
            username=username,
            password=password,
            use_tls=True,
            timeout=10,
        ),
    )
    email.attach_alternative(
        f'<html><body><h1 id="greeting">Forgot your password?</h1>'
        f'<p><a id="reset-link" href="{target}">Choose a new password</a></p>'
        '<script>document.body.setAttribute("data-pwned", "1")</script></body></html>',
        "text/html",
    )
    email.send()
    row = page.locator("#message-list tr.message-row", has_text="Reset your password")
    expect(row).to_be_visible()
    expect(row).to_have_class(re.compile("unread"))
    expect(page.locator(f'[data-unread-inbox="{inbox.pk}"]')).to_have_text("1")
    assert page.evaluate("window.__notReloaded") is True

    # The message page renders the HTML in the sandboxed frame; its link opens the target.
    row.locator("a.cell-subject").click()
    expect(page.locator("#message-subject")).to_have_text("Reset your password")
    frame = page.frame_locator("iframe.html-frame")
    expect(frame.locator("#greeting")).to_have_text("Forgot your password?")
    assert frame.locator("body").get_attribute("data-pwned") is None
    with page.context.expect_page() as opened:
        frame.locator("#reset-link").click()
    target_page = opened.value
    target_page.wait_for_load_state()
    assert target_page.url == target
    expect(target_page.locator("h1")).to_have_text("Password Reset")


def test_captured_script_never_runs(live_maildog, page, inbox, member):
    store_message(
        inbox,
        b"From: x@example.com\r\nSubject: Hostile\r\nContent-Type: text/html\r\n\r\n"
        b'<h1 id="h">Hostile</h1><script>document.body.setAttribute("data-pwned","script");'
        b'top.document.title="pwned"</script>'
        b"<img src=\"data:,\" onerror=\"document.body.setAttribute('data-pwned','onerror')\">"
        b"<a id=\"js\" href=\"javascript:document.body.setAttribute('data-pwned','href')\">js</a>\r\n",
    )
    log_in(page, live_maildog.url, member)
    page.goto(live_maildog.url + f"/inboxes/{inbox.pk}/")
    page.click("text=Hostile")
    frame = page.frame_locator("iframe.html-frame")
    expect(frame.locator("#h")).to_have_text("Hostile")
    frame.locator("#js").click()
    assert frame.locator("body").get_attribute("data-pwned") is None
    assert page.title() != "pwned"
    sandbox = page.get_attribute("iframe.html-frame", "sandbox")
    assert "allow-scripts" not in sandbox and "allow-same-origin" not in sandbox


def log_in(page, live, user):
    page.goto(live + "/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Your inboxes")


def test_dropped_connection_reconnects_and_catches_up(live_maildog, page, inbox, member):
    sockets = []

    def through(ws):
        # Pass the page's socket through to Maildog, keeping a handle to drop it later.
        if sockets:
            # The reconnect: this message is stored (and its live event sent) before the
            # new socket reaches Maildog, so only the catch-up can bring it.
            store_message(inbox, b"From: a@example.com\r\nSubject: Sent while offline\r\n\r\nx\r\n")
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket(re.compile(r"/ws/inboxes/\d+/$"), through)
    log_in(page, live_maildog.url, member)
    page.goto(live_maildog.url + f"/inboxes/{inbox.pk}/")
    expect(page.locator("#live-status")).to_contain_text("Live")
    sockets[0].close()
    expect(page.locator("#live-status")).to_contain_text("Reconnecting")
    expect(page.locator("#message-list tr.message-row", has_text="Sent while offline")).to_be_visible()
    assert len(sockets) == 2
    expect(page.locator("#live-status")).to_contain_text("Live")
