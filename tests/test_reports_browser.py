"""In Chromium against a running Maildog: the report line waits for the report, updates live, expands,
and the Report tab re-runs it.

The loopback DNS server holds back the DKIM key lookup, so the checks (and the report, their next
step) are still running when the page opens.
"""

import re

import pytest
from django.core.mail import EmailMultiAlternatives
from playwright.sync_api import expect

from inboxes.models import Message

from .authzones import DKIMSigningBackend
from .test_authchecks_browser import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def send(live, inbox, key):
    connection = DKIMSigningBackend(
        host="localhost",
        port=live.starttls_port,
        username=inbox.smtp_username,
        password=inbox.smtp_password,
        use_tls=True,
        timeout=10,
        dkim_key=key,
        dkim_domain="shop.test",
    )
    email = EmailMultiAlternatives(
        "Welcome",
        "Hi ,\nConfirm: http://testserver/confirm/abc/\n",
        "Shop <orders@shop.test>",
        ["customer@example.net"],
        connection=connection,
    )
    email.attach_alternative('<p>Hi ,</p>\n<p><a href="http://testserver/confirm/abc/">Confirm</a></p>', "text/html")
    email.send()


def test_report_line_updates_live_and_expands(
    maildog_server, page, inbox, member, auth_zones, loopback_dns, monkeypatch
):
    log_in(page, maildog_server, member)
    monkeypatch.setenv("SSL_CERT_FILE", str(maildog_server.ca_file))
    key_lookup = loopback_dns.zone.hold("rsa._domainkey.shop.test")

    send(maildog_server, inbox, auth_zones["rsa"])

    message = Message.objects.get(inbox=inbox)
    page.goto(maildog_server.url + message.get_absolute_url())
    line = page.locator("details#report")
    expect(line).to_have_class("report-line report-line--pending")
    expect(line).to_contain_text("Not made yet")
    expect(page.locator('details#report[data-report-live="listening"]')).to_be_attached()
    page.evaluate("window.__notReloaded = true")

    key_lookup.set()

    expect(page.locator("details#report")).to_have_class("report-line report-line--complete")
    expect(page.locator("details#report .report-count--error")).to_have_text("2 errors")
    assert page.evaluate("window.__notReloaded") is True
    finding = page.locator('details#report li[data-check="link-testserver"]').first
    expect(finding).to_be_hidden()
    page.locator("details#report summary").click()
    expect(finding).to_be_visible()
    expect(finding).to_contain_text("http://testserver/confirm/abc/")

    page.locator('nav.tabs a[data-tab="report"]').click()
    expect(page).to_have_url(re.compile(r"[?&]tab=report"))
    expect(page.locator('#report-tab li[data-check="missing-name"]')).to_have_count(2)
    page.locator("#report-rerun").click()
    expect(page.locator("#report-tab .report-count--error")).to_have_text("2 errors")
