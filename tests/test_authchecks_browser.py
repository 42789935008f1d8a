"""In Chromium against a running Maildog: the panel waits for the checks, then updates live.

The loopback DNS server holds back the DKIM key lookup, so the checks are
still running when the page opens: that also shows the 250 did not wait for them.
"""

import pytest
from django.core.mail import EmailMessage
from playwright.sync_api import expect

from inboxes.models import Message

from .authzones import DKIMSigningBackend, message_bytes
from .conftest import PASSWORD, store_message

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page, live, user):
    page.goto(live.url + "/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Your inboxes")


def send_signed(live, inbox, key):
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
    EmailMessage(
        "Order shipped",
        "Your order is on its way.",
        "Shop <orders@shop.test>",
        ["customer@example.net"],
        connection=connection,
    ).send()


def test_panel_updates_live_when_the_checks_finish(
    maildog_server, page, inbox, member, auth_zones, loopback_dns, monkeypatch
):
    log_in(page, maildog_server, member)
    monkeypatch.setenv("SSL_CERT_FILE", str(maildog_server.ca_file))
    key_lookup = loopback_dns.zone.hold("rsa._domainkey.shop.test")

    send_signed(maildog_server, inbox, auth_zones["rsa"])

    # 250 came back while the checks wait on DNS.
    message = Message.objects.get(inbox=inbox)
    assert message.deliverability_verdict == ""
    page.goto(maildog_server.url + message.get_absolute_url())
    panel = page.locator("#auth-checks")
    expect(panel).to_have_class("auth-panel auth-panel--pending")
    expect(panel).to_contain_text("Not checked yet")
    expect(page.locator('#auth-checks[data-auth-live="listening"]')).to_be_attached()
    page.evaluate("window.__notReloaded = true")

    key_lookup.set()

    expect(page.locator("#auth-checks .auth-headline-text")).to_have_text(
        "Would pass: DMARC passes for shop.test through aligned DKIM and SPF."
    )
    expect(page.locator("#auth-checks")).to_have_class("auth-panel auth-panel--pass")
    expect(page.locator("#auth-checks .auth-results-header")).to_contain_text("dkim=pass header.d=shop.test")
    assert page.evaluate("window.__notReloaded") is True
    assert Message.objects.get(pk=message.pk).deliverability_verdict == "pass"


def test_rerun_button_checks_again_with_fresh_dns(maildog_server, page, inbox, member, auth_zones, loopback_dns):
    message = store_message(inbox, message_bytes("orders@late.test"), mail_from="orders@late.test")
    log_in(page, maildog_server, member)
    page.goto(maildog_server.url + message.get_absolute_url())
    expect(page.locator("#auth-checks")).to_contain_text("Not checked yet")

    page.click("#auth-checks >> text=Run checks now")
    expect(page.locator("#auth-checks .auth-headline-text")).to_have_text(
        "Not authenticated: nothing vouches for late.test (no DKIM signature, no SPF pass, no DMARC)."
    )
    loopback_dns.add_txt("late.test", "v=spf1 ip4:127.0.0.1 -all")
    page.click("#auth-checks >> text=Re-run checks")

    expect(page.locator("#auth-checks .auth-headline-text")).to_have_text(
        "Would pass: aligned SPF authenticates late.test (no DMARC policy published)."
    )
    expect(page.locator("#auth-checks .auth-fixes")).to_contain_text("Publish a DMARC policy at _dmarc.late.test")
