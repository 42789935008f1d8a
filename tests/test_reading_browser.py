"""Reading mail in Chromium against a running Maildog: the reading pane and its keys, the email first,
linked text, image previews, every page at 390 px in both themes, and live rows that arrive out of order
or not at all."""

import json
import re
from email.message import EmailMessage

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Invitation, Preferences
from inboxes.events import message_summary
from inboxes.models import Inbox, Message

from .conftest import PASSWORD, store_message
from .test_message_page import PIXEL

pytestmark = pytest.mark.django_db(transaction=True)

WIDE = {"width": 1366, "height": 850}
PHONE = {"width": 390, "height": 844}
AUTH_RESULTS = {
    "verdict": "none",
    "headline": "Not authenticated: nothing vouches for shop.test (no DKIM signature, no SPF pass, no DMARC).",
    "fixes": ["Sign outgoing mail with DKIM using d=shop.test and publish the key at <selector>._domainkey.shop.test."],
    "dkim": [],
    "spf": {
        "result": "none",
        "scope": "mailfrom",
        "domain": "bounces.a-rather-long-subdomain-of-the-sender.shop.test",
        "client_ip": "127.0.0.1",
        "reason": "no SPF record",
    },
    "dmarc": {
        "result": "none",
        "from_domain": "shop.test",
        "record": None,
        "location": "shop.test",
        "reason": "no DMARC record",
        "adkim": "r",
        "aspf": "r",
        "policy": "none",
        "pct": 100,
        "disposition": "none",
        "identifiers": [
            {
                "kind": "spf",
                "domain": "bounces.a-rather-long-subdomain-of-the-sender.shop.test",
                "result": "none",
                "aligned_relaxed": True,
                "aligned_strict": False,
                "aligned": True,
            }
        ],
    },
    "authentication_results": "Authentication-Results: localhost;\r\n\tdkim=none;\r\n\tspf=none "
    "smtp.mailfrom=bounces.a-rather-long-subdomain-of-the-sender.shop.test;\r\n\tdmarc=none header.from=shop.test",
}


def log_in(page, live, user):
    page.goto(live + "/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Your inboxes")


def text_mail(inbox, subject, body="Hello.", sender="app@example.com"):
    return store_message(
        inbox, f"From: {sender}\r\nTo: dev@example.com\r\nSubject: {subject}\r\n\r\n{body}\r\n".encode()
    )


def html_mail(inbox, subject):
    msg = EmailMessage()
    msg["From"] = "Shop <orders@shop.test>"
    msg["To"] = "customer@example.net"
    msg["Subject"] = subject
    msg.set_content("Your invoice is attached. Pay at https://shop.test/pay/42")
    msg.add_alternative(
        '<h1 id="greeting">Invoice</h1><p><img src="cid:logo@shop" alt="logo"> Thanks!</p>', subtype="html"
    )
    msg.get_payload()[1].add_related(PIXEL, "image", "png", cid="<logo@shop>", filename="logo.png")
    msg.add_attachment(b"%PDF-1.4 invoice", maintype="application", subtype="pdf", filename="invoice.pdf")
    message = store_message(inbox, msg.as_bytes())
    Message.objects.filter(pk=message.pk).update(deliverability_results=AUTH_RESULTS, deliverability_verdict="none")
    return message


def count_navigations(page):
    """The number of documents the page loaded since (history.pushState counts as none), kept current."""
    counter = {"n": 0}
    page.on("domcontentloaded", lambda _: counter.__setitem__("n", counter["n"] + 1))
    return counter


@pytest.fixture
def wide_page(browser):
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, errors


def test_reading_pane_keys_and_addresses(maildog_server, wide_page, inbox, member):
    page = wide_page
    oldest = text_mail(inbox, "Oldest", "Reset at https://app.example.com/reset/1")
    middle = html_mail(inbox, "Middle invoice")
    newest = text_mail(inbox, "Newest")
    log_in(page, maildog_server.url, member)
    page.goto(maildog_server.url + inbox.get_absolute_url())
    expect(page.locator("#live-status")).to_contain_text("Live")
    navigations = count_navigations(page)
    page.evaluate("window.__notReloaded = true")
    reader = page.locator("#reader")

    # A click opens the message beside the list, which stays.
    page.click(f'tr[data-id="{middle.pk}"] a.cell-subject')
    expect(reader.locator("#message-subject")).to_have_text("Middle invoice")
    expect(page.locator("#message-list")).to_be_visible()
    list_box, reader_box = page.locator("#message-list").bounding_box(), reader.bounding_box()
    assert list_box["x"] + list_box["width"] <= reader_box["x"]
    expect(page).to_have_url(re.compile(rf"\?message={middle.pk}&tab=html$"))
    expect(page.frame_locator("#reader iframe.html-frame").locator("#greeting")).to_have_text("Invoice")
    expect(page.locator(f'tr[data-id="{middle.pk}"]')).not_to_have_class(re.compile("unread"))

    # j: the older message; k: back to the newer one.
    page.keyboard.press("j")
    expect(reader.locator("#message-subject")).to_have_text("Oldest")
    expect(page).to_have_url(re.compile(rf"\?message={oldest.pk}"))
    page.keyboard.press("k")
    expect(reader.locator("#message-subject")).to_have_text("Middle invoice")
    page.keyboard.press("k")
    expect(reader.locator("#message-subject")).to_have_text("Newest")

    # A tab switch and a preview width, in place.
    page.click(f'tr[data-id="{middle.pk}"] a.cell-subject')
    expect(reader.locator("#message-subject")).to_have_text("Middle invoice")
    reader.locator("nav.message-tabs a", has_text="Text").click()
    expect(reader.locator("#tab-text")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"\?message={middle.pk}&tab=text$"))
    reader.locator("nav.message-tabs a", has_text="HTML").click()
    reader.locator("a.pill", has_text="Phone").click()
    expect(reader.locator(".frame-box")).to_have_attribute("style", re.compile("max-width: 375px"))
    expect(page).to_have_url(re.compile(r"width=phone"))

    # Back returns to the previous message and tab.
    page.go_back()
    expect(reader.locator("#tab-text")).to_be_visible()
    page.go_back()
    expect(reader.locator("#tab-html")).to_be_visible()
    page.go_back()
    expect(reader.locator("#message-subject")).to_have_text("Newest")
    assert navigations["n"] == 0
    assert page.evaluate("window.__notReloaded") is True

    # u marks the open message unread and read again; # deletes it and opens the next one.
    page.keyboard.press("u")
    expect(page.locator(f'tr[data-id="{newest.pk}"]')).to_have_class(re.compile("unread"))
    assert not Message.objects.get(pk=newest.pk).is_read
    page.keyboard.press("u")
    expect(page.locator(f'tr[data-id="{newest.pk}"]')).not_to_have_class(re.compile("unread"))
    assert Message.objects.get(pk=newest.pk).is_read
    page.keyboard.press("#")
    expect(page.locator(f'tr[data-id="{newest.pk}"]')).to_have_count(0)
    expect(reader.locator("#message-subject")).to_have_text("Middle invoice")
    assert not Message.objects.filter(pk=newest.pk).exists()

    # / searches, ? lists the keys.
    page.keyboard.press("/")
    expect(page.locator(".search input[type=search]")).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    expect(page.locator("#keys-help")).to_be_visible()
    page.keyboard.press("Escape")
    assert navigations["n"] == 0 and page.evaluate("window.__notReloaded") is True

    # The address is shareable: opened anew, it shows the same message and tab.
    address = page.url
    other = page.context.new_page()
    other.goto(address)
    expect(other.locator("#reader #message-subject")).to_have_text("Middle invoice")
    other.close()


def test_keys_move_and_open_from_the_list(maildog_server, wide_page, inbox, member):
    page = wide_page
    first, second = text_mail(inbox, "First"), text_mail(inbox, "Second")
    log_in(page, maildog_server.url, member)
    page.goto(maildog_server.url + inbox.get_absolute_url())
    navigations = count_navigations(page)
    page.keyboard.press("j")
    expect(page.locator(f'tr[data-id="{second.pk}"]')).to_have_class(re.compile("selected"))
    page.keyboard.press("j")
    expect(page.locator(f'tr[data-id="{first.pk}"]')).to_have_class(re.compile("selected"))
    page.keyboard.press("Enter")
    expect(page.locator("#reader #message-subject")).to_have_text("First")
    page.keyboard.press("k")
    expect(page.locator("#reader #message-subject")).to_have_text("Second")
    page.keyboard.press("o")
    expect(page.locator("#reader #message-subject")).to_have_text("Second")
    assert navigations["n"] == 0


def test_pane_buttons_act_in_place(maildog_server, wide_page, inbox, member):
    page = wide_page
    older, newer = text_mail(inbox, "Older"), text_mail(inbox, "Newer")
    log_in(page, maildog_server.url, member)
    page.goto(maildog_server.url + inbox.get_absolute_url())
    navigations = count_navigations(page)
    badge = page.locator(f'[data-unread-inbox="{inbox.pk}"]')
    expect(badge).to_have_text("2")
    page.click(f'tr[data-id="{newer.pk}"] td.time')
    reader = page.locator("#reader")
    expect(reader.locator("#message-subject")).to_have_text("Newer")
    expect(badge).to_have_text("1")
    reader.locator("button", has_text="Mark unread").click()
    expect(page.locator(f'tr[data-id="{newer.pk}"]')).to_have_class(re.compile("unread"))
    expect(badge).to_have_text("2")
    page.once("dialog", lambda dialog: dialog.accept())
    reader.locator("button", has_text="Delete").click()
    expect(reader.locator("#message-subject")).to_have_text("Older")
    expect(badge).to_have_text("0")
    expect(page.locator("#message-list tr.message-row")).to_have_count(1)
    assert list(Message.objects.filter(inbox=inbox).values_list("pk", flat=True)) == [older.pk]
    assert navigations["n"] == 0


def test_narrow_screens_open_messages_as_pages(maildog_server, browser, inbox, member):
    message = text_mail(inbox, "On a tablet")
    context = browser.new_context(viewport={"width": 800, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        log_in(page, maildog_server.url, member)
        page.goto(maildog_server.url + inbox.get_absolute_url())
        page.keyboard.press("j")
        page.keyboard.press("Enter")
        expect(page).to_have_url(maildog_server.url + message.get_absolute_url())
        expect(page.locator("#message-subject")).to_have_text("On a tablet")
        # A wide screen's address, opened on a narrow one, becomes the message page.
        page.goto(maildog_server.url + inbox.get_absolute_url() + f"?message={message.pk}&tab=headers")
        expect(page).to_have_url(maildog_server.url + message.get_absolute_url() + "?tab=headers")
        expect(page.locator("#tab-headers")).to_be_visible()
    finally:
        context.close()


def test_message_page_switches_tabs_and_messages_in_place(maildog_server, wide_page, inbox, member):
    page = wide_page
    older = text_mail(inbox, "Older one")
    message = html_mail(inbox, "Invoice 42")
    log_in(page, maildog_server.url, member)
    page.goto(maildog_server.url + message.get_absolute_url())
    navigations = count_navigations(page)
    page.locator("nav.message-tabs a", has_text="Text").click()
    expect(page.locator("#tab-text")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/messages/\d+/\?tab=text$"))
    page.keyboard.press("j")
    expect(page.locator("#message-subject")).to_have_text("Older one")
    expect(page).to_have_url(re.compile(rf"/messages/{older.pk}/\?tab=text$"))
    page.go_back()
    expect(page.locator("#message-subject")).to_have_text("Invoice 42")
    assert navigations["n"] == 0


def test_the_email_comes_first_with_the_checks_on_one_line(maildog_server, wide_page, inbox, member):
    page = wide_page
    html = html_mail(inbox, "Invoice 42")
    text = text_mail(inbox, "Password reset", "Reset it at https://app.example.com/reset/abc")
    log_in(page, maildog_server.url, member)

    page.goto(maildog_server.url + html.get_absolute_url())
    expect(page.locator("#auth-checks .auth-headline-text")).to_contain_text("Not authenticated")
    expect(page.locator("#auth-checks .auth-results-header")).to_be_hidden()
    frame_box = page.locator("iframe.html-frame").bounding_box()
    assert frame_box["y"] + 150 <= WIDE["height"], frame_box
    heading = page.frame_locator("iframe.html-frame").locator("#greeting")
    expect(heading).to_be_in_viewport()

    page.goto(maildog_server.url + text.get_absolute_url())
    expect(page.locator("#text-part")).to_be_in_viewport()
    assert page.locator("#text-part").bounding_box()["y"] + 50 <= WIDE["height"]

    # The details unfold on a click, and stay unfolded on the next message (the reader's preference, saved).
    page.goto(maildog_server.url + html.get_absolute_url())
    with page.expect_response(lambda response: "/preferences/" in response.url and response.status == 204):
        page.click("#auth-checks summary")
    expect(page.locator("#auth-checks .auth-alignment")).to_be_visible()
    expect(page.locator("#auth-checks .auth-counts")).to_have_text("no: SPF none")
    page.goto(maildog_server.url + text.get_absolute_url())
    expect(page.locator("#auth-details")).to_have_attribute("open", "")
    page.goto(maildog_server.url + html.get_absolute_url())
    expect(page.locator("#auth-checks .auth-alignment")).to_be_visible()
    with page.expect_response(lambda response: "/preferences/" in response.url and response.status == 204):
        page.click("#auth-checks summary")  # folded again, and saved so
    page.reload()
    expect(page.locator("#auth-checks .auth-headline-text")).to_be_visible()
    expect(page.locator("#auth-checks .auth-alignment")).to_be_hidden()


def test_text_links_and_image_previews(maildog_server, wide_page, inbox, member):
    page = wide_page
    message = html_mail(inbox, "Invoice 42")
    log_in(page, maildog_server.url, member)
    page.goto(maildog_server.url + message.get_absolute_url() + "?tab=text")
    link = page.locator("#text-part a")
    expect(link).to_have_attribute("href", "https://shop.test/pay/42")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("target", "_blank")

    page.goto(maildog_server.url + message.get_absolute_url() + "?tab=attachments")
    image = page.locator("img.attachment-preview")
    expect(image).to_have_count(1)
    page.wait_for_function("document.querySelector('img.attachment-preview').complete")
    assert page.evaluate("document.querySelector('img.attachment-preview').naturalWidth") == 1
    response = page.request.get(maildog_server.url + image.get_attribute("src"))
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith("inline;")
    assert response.headers["content-security-policy"].startswith("sandbox")
    expect(page.locator(".attachment", has_text="invoice.pdf")).to_contain_text("application/pdf · 16")
    expect(page.locator(".attachment", has_text="invoice.pdf").locator("img")).to_have_count(0)


def phone_pages(inbox, message, team):
    tab_pages = [
        message.get_absolute_url() + f"?tab={tab}"
        for tab in ("html", "text", "headers", "raw", "mime", "attachments", "links", "envelope", "side")
    ]
    return [
        "/",
        inbox.get_absolute_url(),
        *tab_pages,
        reverse("inboxes:integration", args=[inbox.pk]),
        reverse("inboxes:inbox_rename", args=[inbox.pk]),
        reverse("accounts:teams"),
        reverse("accounts:team", args=[team.pk]),
        reverse("accounts:team_create"),
        reverse("api_tokens:list"),
        reverse("account_email"),
        reverse("account_change_password"),
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_fits_a_phone(maildog_server, browser, inbox, owner, member, team, api_key, scheme):
    long = "a-very-long-unbroken-sender-address-that-goes-on@an-equally-long-subdomain.example.com"
    api_key(owner, name="CI for the staging inbox of the web shop")
    api_key(owner, inbox, name="Read only")
    Invitation.objects.create(team=team, email="a-new-colleague-with-a-long-address@example.com", token="t" * 40)
    text_mail(inbox, "A subject that is long enough to wrap over several lines on a phone " * 2, sender=long)
    message = html_mail(inbox, "Invoice 42 with a rather long subject line for a small screen")
    Message.objects.filter(pk=message.pk).update(
        deliverability_results={**AUTH_RESULTS, "verdict": "fail"}, deliverability_verdict="fail"
    )
    # Not `is_mobile`: a mobile layout viewport widens to fit overflowing content, and innerWidth with it.
    context = browser.new_context(viewport=PHONE, color_scheme=scheme, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        log_in(page, maildog_server.url, owner)
        assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
        Preferences.objects.update_or_create(user=owner, defaults={"checks_details_open": True})  # the widest checks
        too_wide = {}
        for path in phone_pages(inbox, message, team):
            page.goto(maildog_server.url + path)
            page.wait_for_load_state("load")
            width, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
            assert inner == PHONE["width"]
            if width > inner:
                too_wide[path] = width
        for path in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
            anonymous = browser.new_context(viewport=PHONE, color_scheme=scheme)
            other = anonymous.new_page()
            other.goto(maildog_server.url + path)
            width, inner = other.evaluate("[document.documentElement.scrollWidth, innerWidth]")
            if width > inner:
                too_wide[path] = width
            anonymous.close()
        assert too_wide == {}
        # The list keeps the whole time of each row.
        page.goto(maildog_server.url + inbox.get_absolute_url())
        time = page.locator("tr.message-row td.time").first
        box = time.bounding_box()
        assert box["x"] + box["width"] <= PHONE["width"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", time.inner_text())
    finally:
        context.close()


def test_list_marks_failing_mail_and_passing_on_request(maildog_server, wide_page, inbox, member):
    page = wide_page
    quiet = text_mail(inbox, "Not authenticated")
    Message.objects.filter(pk=quiet.pk).update(deliverability_verdict="none")
    failing = text_mail(inbox, "Failing")
    Message.objects.filter(pk=failing.pk).update(deliverability_verdict="fail")
    passing = text_mail(inbox, "Passing")
    Message.objects.filter(pk=passing.pk).update(deliverability_verdict="pass")
    log_in(page, maildog_server.url, member)
    page.goto(maildog_server.url + inbox.get_absolute_url())
    expect(page.locator(f'tr[data-id="{failing.pk}"] .auth-marker')).to_be_visible()
    expect(page.locator(f'tr[data-id="{failing.pk}"] .auth-marker')).to_have_text("Would fail")
    expect(page.locator(f'tr[data-id="{quiet.pk}"] .auth-marker')).to_be_hidden()
    expect(page.locator(f'tr[data-id="{passing.pk}"] .auth-marker')).to_be_hidden()
    # Passing mail is marked where the team asks for it, and the choice is kept for the inbox.
    with page.expect_response(lambda response: "/mark-passing/" in response.url and response.status == 204):
        page.check("#show-pass")
    expect(page.locator(f'tr[data-id="{passing.pk}"] .auth-marker')).to_have_text("Would pass")
    page.reload()
    expect(page.locator(f'tr[data-id="{passing.pk}"] .auth-marker')).to_be_visible()
    expect(page.locator(f'tr[data-id="{quiet.pk}"] .auth-marker')).to_be_hidden()


# --- Live rows: placed by sequence number, gaps caught up -------------------------------------------------
def fake_socket(page, inbox):
    """The page's inbox socket answered by the test instead of Maildog: it sends what the test says."""
    sockets = []
    page.route_web_socket(re.compile(rf"/ws/inboxes/{inbox.pk}/$"), lambda ws: sockets.append(ws))
    return sockets


def send_new(ws, message):
    ws.send(json.dumps({"type": "message.new", "message": message_summary(message)}))


def test_events_out_of_order_are_placed(maildog_server, page, inbox, member):
    sockets = fake_socket(page, inbox)
    # Only the events can bring these rows: the catch-up is refused.
    page.route(re.compile(r"/messages/after/\d+/$"), lambda route: route.abort())
    log_in(page, maildog_server.url, member)
    page.goto(maildog_server.url + inbox.get_absolute_url())
    expect(page.locator("#live-status")).to_contain_text("Live")
    page.evaluate("""() => { window.__learned = [];
        document.addEventListener("maildog:message.new", (e) => window.__learned.push(e.detail.seq)); }""")
    one, two, three = (text_mail(inbox, f"Message {n}") for n in ("one", "two", "three"))
    for message in (three, one, two, three):
        send_new(sockets[0], message)
    expect(page.locator("#message-list tr.message-row")).to_have_count(3)
    expect(page.locator("#message-list tr.message-row .cell-subject")).to_have_text(
        ["Message three", "Message two", "Message one"]
    )
    assert sorted(page.evaluate("window.__learned")) == [one.seq, two.seq, three.seq]


def test_a_missed_event_is_caught_up(maildog_server, page, inbox, member):
    sockets = fake_socket(page, inbox)
    log_in(page, maildog_server.url, member)
    page.goto(maildog_server.url + inbox.get_absolute_url())
    expect(page.locator("#live-status")).to_contain_text("Live")
    page.evaluate("window.maildogLive.catchUp()")
    one, two, three = (text_mail(inbox, f"Message {n}") for n in ("one", "two", "three"))
    send_new(sockets[0], one)
    send_new(sockets[0], three)  # two's event never comes
    expect(page.locator("#message-list tr.message-row .cell-subject")).to_have_text(
        ["Message three", "Message two", "Message one"]
    )
    # A number that never comes (a deleted message) is settled by the answer, not asked for forever;
    four = text_mail(inbox, "Message four")
    Message.objects.filter(pk=four.pk).delete()
    five = text_mail(inbox, "Message five")
    # The event of the last message of a burst is lost too: no later event shows the gap.
    six = text_mail(inbox, "Message six")
    send_new(sockets[0], five)
    expect(page.locator("#message-list tr.message-row")).to_have_count(5)
    expect(page.locator("#message-list tr.message-row .cell-subject").first).to_have_text("Message six")
    page.wait_for_function(f"window.maildogLive.state().settled === {six.seq}")
    assert Inbox.objects.get(pk=inbox.pk).last_seq == six.seq


def test_a_search_announces_new_mail_and_inserts_only_on_request(maildog_server, page, inbox, member):
    sockets = fake_socket(page, inbox)
    text_mail(inbox, "Invoice 1")
    log_in(page, maildog_server.url, member)
    page.goto(maildog_server.url + inbox.get_absolute_url() + "?q=invoice")
    expect(page.locator("#live-status")).to_contain_text("Live")
    page.evaluate("window.maildogLive.catchUp()")
    page.evaluate(
        """() => { window.__learned = [];
        document.addEventListener("maildog:message.new", (e) => window.__learned.push(e.detail.subject)); }"""
    )
    invoice, other = text_mail(inbox, "Invoice 2"), text_mail(inbox, "Something else")
    send_new(sockets[0], invoice)
    send_new(sockets[0], other)
    page.wait_for_function("window.__learned.length === 2")
    assert page.evaluate("window.__learned") == ["Invoice 2", "Something else"]
    expect(page.locator("#message-list tr.message-row")).to_have_count(1)
    page.evaluate(
        "(m) => document.dispatchEvent(new CustomEvent('maildog:insert-row', {detail: m}))", message_summary(invoice)
    )
    expect(page.locator("#message-list tr.message-row .cell-subject")).to_have_text(["Invoice 2", "Invoice 1"])


def test_an_open_list_keeps_its_newest_rows(maildog_server, page, inbox, member):
    sockets = fake_socket(page, inbox)
    page.route(re.compile(r"/messages/after/\d+/$"), lambda route: route.abort())  # only the events bring rows
    log_in(page, maildog_server.url, member)
    page.goto(maildog_server.url + inbox.get_absolute_url())
    expect(page.locator("#live-status")).to_contain_text("Live")
    messages = [text_mail(inbox, f"Message {n}") for n in range(1, 56)]
    for message in messages:
        send_new(sockets[-1], message)
    rows = page.locator("#message-list tr.message-row")
    # A flood keeps the newest 50 (a page's worth, as a reload shows); the older ones are behind "Older".
    expect(rows.first.locator(".cell-subject")).to_have_text("Message 55")
    expect(rows).to_have_count(50)
    expect(rows.last.locator(".cell-subject")).to_have_text("Message 6")
    older = page.locator(".pager a[data-older]")
    expect(older).to_have_attribute("href", f"{inbox.get_absolute_url()}?before={messages[5].seq}")
    # Not every row of a flood flashes.
    assert rows.locator("xpath=self::*[contains(@class, 'new')]").count() < 50
    older.click()
    expect(rows.locator(".cell-subject")).to_have_text([f"Message {n}" for n in range(5, 0, -1)])

    # A row the reader has checked stays, and so does everything above it.
    page.goto(maildog_server.url + inbox.get_absolute_url())
    expect(page.locator("#live-status")).to_contain_text("Live")
    expect(rows).to_have_count(50)
    rows.last.locator("input[name=ids]").check()
    for n in range(56, 59):
        send_new(sockets[-1], text_mail(inbox, f"Message {n}"))
    expect(rows.first.locator(".cell-subject")).to_have_text("Message 58")
    expect(rows).to_have_count(53)
    expect(rows.last.locator(".cell-subject")).to_have_text("Message 6")
    rows.last.locator("input[name=ids]").uncheck()
    send_new(sockets[-1], text_mail(inbox, "Message 59"))
    expect(rows.first.locator(".cell-subject")).to_have_text("Message 59")
    expect(rows).to_have_count(50)
    expect(rows.last.locator(".cell-subject")).to_have_text("Message 10")
