"""Search in a real headless Chromium against a real Maildog process: highlights, live insertion, bulk actions."""

import re

import pytest
from django.core.mail import EmailMessage, get_connection
from playwright.sync_api import expect

from inboxes.models import Message

from .conftest import PASSWORD, store_message

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page, live, user):
    page.goto(live + "/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Your inboxes")


def send(maildog_server, inbox, subject, body):
    connection = get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host="localhost",
        port=maildog_server.starttls_port,
        username=inbox.smtp_username,
        password=inbox.smtp_password,
        use_tls=True,
        timeout=10,
    )
    EmailMessage(subject, body, "billing@app.example", ["ann@example.com"], connection=connection).send()


def mail(subject, body="Hello"):
    return f"From: billing@app.example\r\nTo: ann@example.com\r\nSubject: {subject}\r\n\r\n{body}\r\n".encode()


def test_highlight_and_live_insertion_into_a_search(maildog_server, trust_test_ca, page, inbox, member):
    store_message(inbox, mail("Invoice 7 <is> ready", "Pay by Friday"))
    store_message(inbox, mail("Weekly news"))
    log_in(page, maildog_server.url, member)
    page.goto(maildog_server.url + f"/inboxes/{inbox.pk}/?q=invoice")
    expect(page.locator("#search-count")).to_have_text("1 result")
    rows = page.locator("#message-list tbody tr.message-row")
    expect(rows).to_have_count(1)
    subject = rows.first.locator(".cell-subject")
    expect(subject).to_have_text("Invoice 7 <is> ready")  # escaped, then marked
    expect(subject.locator("mark")).to_have_text("Invoice")
    expect(page.locator("#live-status")).to_contain_text("Live")
    page.evaluate("window.__notReloaded = true")

    send(maildog_server, inbox, "Weekly news again", "nothing to see")
    send(maildog_server, inbox, "Your invoice 8", "Pay by Monday")
    new_row = page.locator("#message-list tr.message-row", has_text="Your invoice 8")
    expect(new_row).to_be_visible()
    expect(new_row.locator(".cell-subject mark")).to_have_text("invoice")
    expect(rows).to_have_count(2)  # the other message did not match the open search
    assert rows.first.get_attribute("data-id") == str(Message.objects.get(subject="Your invoice 8").pk)
    assert page.evaluate("window.__notReloaded") is True


def test_select_all_matching_and_nothing_selected(maildog_server, page, inbox, member):
    for n in range(53):
        store_message(inbox, mail(f"Receipt {n}"))
    store_message(inbox, mail("Keep me"))
    log_in(page, maildog_server.url, member)
    page.goto(maildog_server.url + f"/inboxes/{inbox.pk}/?q=receipt")
    expect(page.locator("#search-count")).to_have_text("53 results")

    # Nothing selected: no question, a plain answer, nothing deleted.
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.click("#bulk button.danger")
    expect(page.locator("#bulk-status")).to_have_text(re.compile("No messages selected"))
    assert dialogs == [] and Message.objects.count() == 54

    # The page's rows, then all 53 that match, with the count in the question.
    page.check("#select-all")
    expect(page.locator("#select-matching")).to_be_visible()
    page.check("#all-matching")
    page.click("#bulk button.danger")
    expect(page.locator("body")).to_contain_text("Deleted 53 messages.")
    assert dialogs == ["Delete all 53 messages matching “receipt”?"]
    assert list(Message.objects.values_list("subject", flat=True)) == ["Keep me"]
