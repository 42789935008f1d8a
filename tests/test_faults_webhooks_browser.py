"""In Chromium against a running Maildog: a fault rule made on the Faults tab refuses real mail, and a
webhook made on the Webhooks tab receives a signed test event and the next message."""

import smtplib

import pytest
from django.core.mail import EmailMessage
from playwright.sync_api import expect

from .conftest import smtp_backend
from .test_authchecks_browser import log_in
from .test_webhooks import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


def send(live, inbox, to="ann@example.com"):
    return EmailMessage("Hello", "Body", "app@example.com", [to], connection=smtp_backend(live, inbox)).send()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def test_a_rule_made_on_the_faults_tab_refuses_the_next_message_then_is_used_up(
    maildog_server, page, inbox, owner, monkeypatch
):
    monkeypatch.setenv("SSL_CERT_FILE", str(maildog_server.ca_file))
    log_in(page, maildog_server, owner)
    page.goto(maildog_server.url + inbox.get_absolute_url())
    page.get_by_role("link", name="Faults", exact=True).click()
    expect(page.locator("#fault-rules")).to_contain_text("No fault rules")

    form = page.locator("#fault-rule-form")
    form.locator("input[name=name]").fill("no such user")
    form.locator("select[name=stage]").select_option("rcpt")
    form.locator("input[name=reply]").fill("550 5.1.1 No such user here")
    form.locator("input[name=remaining]").fill("1")
    form.get_by_role("button", name="Add rule").click()
    rule = page.locator('tr.fault-rule[data-name="no such user"]')
    expect(rule).to_contain_text("RCPT")
    expect(rule.locator("td").nth(3)).to_have_text("1")

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(maildog_server, inbox)
    assert refused.value.recipients["ann@example.com"] == (550, b"5.1.1 No such user here")
    assert send(maildog_server, inbox) == 1  # used up: the next one is stored

    page.reload()
    expect(rule.locator("td").nth(3)).to_have_text("0")
    expect(rule.locator("td").nth(6)).to_have_text("1")
    expect(page.locator("#injected-faults li").first).to_contain_text("550 5.1.1 No such user here")
    rule.get_by_role("button", name="Remove").click()
    expect(page.locator("#fault-rules")).to_contain_text("No fault rules")


def test_a_webhook_made_on_the_webhooks_tab_gets_a_signed_test_and_the_next_message(
    maildog_server, page, inbox, owner, receiver, monkeypatch
):
    monkeypatch.setenv("SSL_CERT_FILE", str(maildog_server.ca_file))
    log_in(page, maildog_server, owner)
    page.goto(maildog_server.url + inbox.get_absolute_url())
    page.get_by_role("link", name="Webhooks", exact=True).click()
    form = page.locator("#webhook-form")
    form.locator("input[name=url]").fill(receiver.url)
    form.get_by_role("button", name="Add webhook").click()
    expect(page.locator("#webhook")).to_contain_text(receiver.url)  # its page, with the secret
    receiver.secret = page.locator("#webhook-secret").inner_text()

    page.get_by_role("button", name="Send test event").click()
    expect(page.locator("#deliveries tr.delivery").first).to_contain_text("delivered")
    [test_event] = receiver.wait_for(1)
    assert test_event["verified"] and test_event["json"]["event"] == "test"

    assert send(maildog_server, inbox) == 1
    arrived = receiver.wait_for(2)[1]
    assert arrived["verified"] and arrived["json"]["event"] == "message.new"
    assert arrived["json"]["message"]["subject"] == "Hello"
    page.reload()
    expect(page.locator("#deliveries tr.delivery", has_text="message.new")).to_contain_text("delivered")
    page.get_by_role("link", name="All webhooks").click()
    expect(page.locator("#webhooks tr.webhook", has_text=receiver.url)).to_contain_text("enabled")
