"""End to end in a real headless Chromium against a real Maildog process.

Maildog runs as it does for a developer: `manage.py serve` (daphne for HTTP and
websockets, plus the SMTP listeners with the development CA) on free ports,
against the test database. Its own emails go to its own SMTP server, into a
"Maildog mail" inbox, where the test picks up the verification link.
"""

import re

import pytest
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils import timezone
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from accounts.models import Team
from inboxes.models import Inbox, Message

from .conftest import PASSWORD, SERVER_MAIL_PASSWORD, SERVER_MAIL_USER, store_message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def maildog_server_tls():
    """The server uses its own development CA, which the sign-up test downloads from its page."""
    return "local-ca"


@pytest.fixture
def system_inbox(transactional_db):
    """The inbox that catches Maildog's own mail (credentials fixed in the server's environment)."""
    team = Team.objects.create(name="Maildog operators")
    return Inbox.objects.create(
        team=team, name="Maildog mail", smtp_username=SERVER_MAIL_USER, smtp_password=SERVER_MAIL_PASSWORD
    )


def caught_link(inbox, subject_part, pattern):
    message = Message.objects.filter(inbox=inbox, subject__contains=subject_part).order_by("-seq").first()
    assert message is not None, f"no message with {subject_part!r} in {inbox}"
    return re.search(pattern, message.text_body).group(0)


def test_signup_to_live_message_and_its_links(maildog_server, page, system_inbox, tmp_path, monkeypatch):
    live = maildog_server.url
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
    assert (host, port) == ("localhost", maildog_server.starttls_port)
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
    # A row added live shows its time as the server writes every time: "2026-11-25 20:05:03".
    live_time = row.locator("time").text_content()
    stored = Message.objects.get(inbox=inbox, subject="Reset your password")
    assert live_time == timezone.localtime(stored.received_at).strftime("%Y-%m-%d %H:%M:%S")

    # The message page renders the HTML in the sandboxed frame; its link opens the target.
    row.locator("a.cell-subject").click()
    expect(page.locator("#message-subject")).to_have_text("Reset your password")
    frame = page.frame_locator("iframe.html-frame")
    expect(frame.locator("#greeting")).to_have_text("Forgot your password?")
    assert frame.locator("body").get_attribute("data-pwned") is None
    # The checks' panel and the report line above the frame are swapped in when they finish: once they
    # have, nothing moves the link between Playwright finding it and clicking it. The frame starts
    # below the fold of the reading pane: scrolled into view from this document first (a scroll
    # asked for from inside the sandboxed frame does not always reach the pane).
    expect(page.locator(".auth-panel--pending")).to_have_count(0)
    expect(page.locator(".report-line--pending")).to_have_count(0)
    page.locator("iframe.html-frame").scroll_into_view_if_needed()
    # Playwright's click into the sandboxed, cross-origin frame now and then lands before the frame
    # is ready for input (no popup, no error): clicked again, up to three times.
    for attempt in range(3):
        try:
            with page.context.expect_page(timeout=8000) as opened:
                frame.locator("#reset-link").click()
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
    target_page = opened.value
    target_page.wait_for_load_state()
    assert target_page.url == target
    expect(target_page.locator("h1")).to_have_text("Reset your password")


def test_captured_script_never_runs(maildog_server, page, inbox, member):
    store_message(
        inbox,
        b"From: x@example.com\r\nSubject: Hostile\r\nContent-Type: text/html\r\n\r\n"
        b'<h1 id="h">Hostile</h1><script>document.body.setAttribute("data-pwned","script");'
        b'top.document.title="pwned"</script>'
        b"<img src=\"data:,\" onerror=\"document.body.setAttribute('data-pwned','onerror')\">"
        b"<a id=\"js\" href=\"javascript:document.body.setAttribute('data-pwned','href')\">js</a>\r\n",
    )
    log_in(page, maildog_server.url, member)
    page.goto(maildog_server.url + f"/inboxes/{inbox.pk}/")
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


def test_dropped_connection_reconnects_and_catches_up(maildog_server, page, inbox, member):
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
    log_in(page, maildog_server.url, member)
    page.goto(maildog_server.url + f"/inboxes/{inbox.pk}/")
    expect(page.locator("#live-status")).to_contain_text("Live")
    sockets[0].close()
    expect(page.locator("#live-status")).to_contain_text("Reconnecting")
    expect(page.locator("#message-list tr.message-row", has_text="Sent while offline")).to_be_visible()
    assert len(sockets) == 2
    expect(page.locator("#live-status")).to_contain_text("Live")
