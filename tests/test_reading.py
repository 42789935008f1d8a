"""Reading a message: the message block as a fragment, linked plain text, image previews, the catch-up list."""

from email.message import EmailMessage

import pytest
from django.test import Client
from django.urls import reverse

from inboxes.models import Message

from .conftest import store_message
from .test_message_page import PIXEL

pytestmark = pytest.mark.django_db

GIF = bytes.fromhex("474946383961010001008000000000ffffff21f90401000000002c00000000010001000002024401003b")


def url(name, message, *extra):
    return reverse(f"inboxes:{name}", args=[message.inbox_id, message.pk, *extra])


def text_mail(inbox, body, subject="Reset"):
    return store_message(inbox, f"From: app@example.com\r\nSubject: {subject}\r\n\r\n{body}\r\n".encode())


def invoice(inbox):
    msg = EmailMessage()
    msg["From"] = "billing@example.com"
    msg["To"] = "ann@example.com"
    msg["Subject"] = "Invoice"
    msg.set_content("See attached.")
    msg.add_alternative('<p><img src="cid:logo@shop"> Invoice</p>', subtype="html")
    msg.get_payload()[1].add_related(PIXEL, "image", "png", cid="<logo@shop>", filename="logo.png")
    msg.add_attachment(GIF, maintype="image", subtype="gif", filename="photo.gif")
    msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="invoice.pdf")
    # Declared as a PNG, but it is a page: never served as an image.
    msg.add_attachment(b"<html><script>alert(1)</script></html>", maintype="image", subtype="png", filename="fake.png")
    msg.add_attachment(
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        maintype="image",
        subtype="svg+xml",
        filename="logo.svg",
    )
    return store_message(inbox, msg.as_bytes())


def test_fragment_is_the_message_block_alone(member_client, inbox):
    message = text_mail(inbox, "Hello")
    response = member_client.get(url("message", message) + "?tab=text&fragment=1")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<article class="message-view"') and "<html" not in body
    assert 'id="tab-text"' in body and 'data-tab="text"' in body
    assert Message.objects.get(pk=message.pk).is_read


def test_fragment_obeys_the_access_policy(outsider_client, inbox):
    message = text_mail(inbox, "Hello")
    assert outsider_client.get(url("message", message) + "?fragment=1").status_code == 404
    assert Client().get(url("message", message) + "?fragment=1").status_code == 302


def test_newer_and_older_neighbours(member_client, inbox):
    first, second, third = (text_mail(inbox, "x", subject=f"n{i}") for i in range(3))
    body = member_client.get(url("message", second)).content.decode()
    assert f'data-newer-url="{third.get_absolute_url()}"' in body
    assert f'data-older-url="{first.get_absolute_url()}"' in body
    body = member_client.get(url("message", third)).content.decode()
    assert "data-newer-url" not in body and 'data-nav="newer" aria-disabled="true"' in body


def test_plain_text_urls_are_links_that_open_apart(member_client, inbox):
    message = text_mail(inbox, 'Reset: https://app.example.com/reset/abc?x=1&y=<b>2</b> "javascript:alert(1)" <script>')
    body = member_client.get(url("message", message) + "?tab=text").content.decode()
    assert '<a target="_blank" rel="noopener noreferrer" href="https://app.example.com/reset/abc?x=1&amp;y=">' in body
    assert "&lt;b&gt;2&lt;/b&gt;" in body and "&lt;script&gt;" in body
    assert 'href="javascript' not in body


def test_long_text_is_shown_without_links(member_client, inbox, monkeypatch):
    from inboxes.templatetags import maildog

    monkeypatch.setattr(maildog, "LINKIFY_MAX_CHARS", 100)
    message = text_mail(inbox, "https://a.example/x " * 10)
    page = member_client.get(url("message", message) + "?tab=text").content.decode()
    assert "https://a.example/x https://a.example/x" in page and 'href="https://a.example/x"' not in page
    short = text_mail(inbox, "https://a.example/x")
    assert 'href="https://a.example/x"' in member_client.get(url("message", short) + "?tab=text").content.decode()


def test_raster_images_preview_inline_everything_else_downloads(member_client, inbox):
    message = invoice(inbox)
    page = member_client.get(url("message", message) + "?tab=attachments").content.decode()
    previews = {
        a.filename: a.index for a in __import__("inboxes.mime", fromlist=["read"]).read(bytes(message.raw)).attachments
    }
    for name in ("photo.gif", "logo.png", "fake.png"):
        assert f'src="{url("message_attachment_preview", message, previews[name])}"' in page
    for name in ("invoice.pdf", "logo.svg"):
        assert url("message_attachment_preview", message, previews[name]) not in page
    assert "application/pdf" in page and "image/svg+xml" in page

    gif = member_client.get(url("message_attachment_preview", message, previews["photo.gif"]))
    assert gif.status_code == 200 and gif.content == GIF
    assert gif["Content-Type"] == "image/gif"
    assert gif["Content-Disposition"] == 'inline; filename="photo.gif"'
    assert gif["X-Content-Type-Options"] == "nosniff"
    assert gif["Content-Security-Policy"].startswith("sandbox;")
    png = member_client.get(url("message_attachment_preview", message, previews["logo.png"]))
    assert png["Content-Type"] == "image/png" and png["Content-Disposition"].startswith("inline;")

    for name in ("fake.png", "logo.svg", "invoice.pdf"):
        other = member_client.get(url("message_attachment_preview", message, previews[name]))
        assert other["Content-Disposition"].startswith("attachment;"), name
        assert other["Content-Type"] in ("application/octet-stream", "application/pdf", "image/png"), name
        assert other["X-Content-Type-Options"] == "nosniff"
        assert other["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert member_client.get(url("message_attachment_preview", message, 99)).status_code == 404


def test_preview_obeys_the_access_policy(outsider_client, inbox):
    message = invoice(inbox)
    assert outsider_client.get(url("message_attachment_preview", message, 0)).status_code == 404
    assert Client().get(url("message_attachment_preview", message, 0)).status_code == 302
    assert outsider_client.post(url("message_attachment_preview", message, 0)).status_code == 405


def test_catch_up_lists_messages_after_a_sequence_number(member_client, outsider, inbox):
    messages = [text_mail(inbox, "x", subject=f"m{i}") for i in range(4)]
    messages[1].delete()
    answer = member_client.get(reverse("inboxes:messages_after", args=[inbox.pk, messages[0].seq])).json()
    assert [m["subject"] for m in answer["messages"]] == ["m2", "m3"]
    assert answer["truncated"] is False and answer["last_seq"] == messages[3].seq
    assert answer["messages"][0]["url"] == messages[2].get_absolute_url()
    stranger = Client()
    stranger.force_login(outsider)
    assert stranger.get(reverse("inboxes:messages_after", args=[inbox.pk, 0])).status_code == 404
    assert member_client.post(reverse("inboxes:messages_after", args=[inbox.pk, 0])).status_code == 405


def test_catch_up_answers_in_pages(member_client, inbox, monkeypatch):
    from inboxes.views import live

    monkeypatch.setattr(live, "CATCH_UP_LIMIT", 2)
    for i in range(3):
        text_mail(inbox, "x", subject=f"m{i}")
    answer = member_client.get(reverse("inboxes:messages_after", args=[inbox.pk, 0])).json()
    assert [m["subject"] for m in answer["messages"]] == ["m0", "m1"] and answer["truncated"] is True


def test_alignment_counts_only_a_passing_check(member_client, inbox):
    message = text_mail(inbox, "x")
    results = {
        "verdict": "none",
        "headline": "Not authenticated",
        "fixes": [],
        "dkim": [],
        "spf": {"result": "none", "scope": "mailfrom", "domain": "shop.test", "client_ip": "127.0.0.1", "reason": ""},
        "dmarc": {
            "result": "none",
            "from_domain": "shop.test",
            "record": None,
            "location": "shop.test",
            "reason": "",
            "adkim": "r",
            "aspf": "r",
            "policy": "none",
            "pct": 100,
            "disposition": "none",
            "identifiers": [
                {
                    "kind": "spf",
                    "domain": "shop.test",
                    "result": "none",
                    "aligned_relaxed": True,
                    "aligned_strict": True,
                    "aligned": True,
                }
            ],
        },
        "authentication_results": "Authentication-Results: x; spf=none",
    }
    Message.objects.filter(pk=message.pk).update(deliverability_results=results, deliverability_verdict="none")
    body = member_client.get(url("message", message)).content.decode()
    assert "aligned / aligned" not in body
    assert "same domain" in body and "no: SPF none" in body
    # One line first: the details are folded until the reader opens them.
    assert '<details class="auth-details" id="auth-details">' in body


def test_checks_details_stay_open_for_the_person_who_opened_them(member_client, owner, inbox):
    from accounts.models import Preferences

    message = text_mail(inbox, "Hello")
    folded = '<details class="auth-details" id="auth-details">'
    unfolded = '<details class="auth-details" id="auth-details" open>'
    assert folded in member_client.get(url("message", message)).content.decode()
    response = member_client.post(reverse("accounts:preferences"), {"checks_details_open": "1"})
    assert response.status_code == 204
    # Kept on the server: every page and browser of this person, the panel swapped in live too.
    assert unfolded in member_client.get(url("message", message)).content.decode()
    panel = member_client.get(reverse("deliverability:panel", args=[inbox.pk, message.pk])).content.decode()
    assert unfolded in panel
    # Not for anyone else.
    owner_client = Client()
    owner_client.force_login(owner)
    assert folded in owner_client.get(url("message", message)).content.decode()
    member_client.post(reverse("accounts:preferences"), {"checks_details_open": "0"})
    assert folded in member_client.get(url("message", message)).content.decode()
    assert Preferences.objects.count() == 1


def test_preferences_take_only_known_choices_and_need_a_person(member_client):
    bad = member_client.post(reverse("accounts:preferences"), {"is_staff": "1"})
    assert bad.status_code == 400 and b"is_staff" in bad.content
    assert member_client.post(reverse("accounts:preferences"), {"checks_details_open": "yes"}).status_code == 400
    assert member_client.get(reverse("accounts:preferences")).status_code == 405
    anonymous = Client().post(reverse("accounts:preferences"), {"checks_details_open": "1"})
    assert anonymous.status_code == 302 and reverse("account_login") in anonymous["Location"]


def test_marking_passing_mail_is_the_inbox_setting_for_its_whole_team(member_client, owner, outsider, inbox):
    owner_client = Client()
    owner_client.force_login(owner)
    list_url = inbox.get_absolute_url()
    assert 'class="messages" id="message-list"' in owner_client.get(list_url).content.decode()
    answer = member_client.post(
        reverse("inboxes:inbox_mark_passing", args=[inbox.pk]),
        {"mark_passing_mail": "1"},
        headers={"X-Requested-With": "fetch"},
    )
    assert answer.status_code == 204
    # Another member of the team sees passing mail marked too: it is the inbox's setting.
    page = owner_client.get(list_url).content.decode()
    assert 'class="messages show-pass" id="message-list"' in page
    assert 'id="show-pass" checked' in page
    # Without script the form's button sends it and comes back to the list.
    back = member_client.post(reverse("inboxes:inbox_mark_passing", args=[inbox.pk]), {"mark_passing_mail": "0"})
    assert back.status_code == 302 and back["Location"] == list_url
    assert 'class="messages" id="message-list"' in owner_client.get(list_url).content.decode()
    # Someone outside the team can neither see nor change it.
    outsider_client = Client()
    outsider_client.force_login(outsider)
    refused = outsider_client.post(reverse("inboxes:inbox_mark_passing", args=[inbox.pk]), {"mark_passing_mail": "1"})
    assert refused.status_code == 404
    inbox.refresh_from_db()
    assert inbox.mark_passing_mail is False
