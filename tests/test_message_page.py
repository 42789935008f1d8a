"""The message page and its parts: rendering, sandboxing, downloads, broken mail."""

from email.message import EmailMessage

import pytest
from django.urls import reverse

from inboxes.models import Message

from .conftest import store_message

pytestmark = pytest.mark.django_db

PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def rich_message() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Shop <shop@example.com>"
    msg["To"] = "alice@example.com"
    msg["Subject"] = "Your order"
    msg.set_content("Track it at https://shop.example.com/track/42 today.")
    msg.add_alternative(
        '<html><head><title>x</title></head><body><h1>Order</h1><img src="cid:logo@shop">'
        '<img src="https://tracker.example.net/p.gif"><a href="https://shop.example.com/orders/42">Your order</a>'
        '<a href="javascript:alert(1)">bad</a><script>alert(1)</script></body></html>',
        subtype="html",
    )
    msg.get_payload()[1].add_related(PIXEL, "image", "png", cid="<logo@shop>")
    msg.add_attachment(b"<html><script>alert(1)</script></html>", maintype="text", subtype="html", filename="evil.html")
    return msg.as_bytes()


@pytest.fixture
def rich(inbox):
    return store_message(inbox, rich_message())


def url(name, message, *extra):
    return reverse(f"inboxes:{name}", args=[message.inbox_id, message.pk, *extra])


def test_message_page_shows_summary_and_marks_read(owner_client, rich):
    response = owner_client.get(url("message", rich))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Your order" in body and "shop@example.com" in body
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in body
    assert "allow-scripts" not in body and "allow-same-origin" not in body
    # The captured HTML is never inlined into Maildog's own page.
    assert "<script>alert(1)</script>" not in body
    assert Message.objects.get(pk=rich.pk).is_read


@pytest.mark.parametrize("tab", ["html", "text", "side", "headers", "raw", "mime", "attachments", "links", "envelope"])
def test_every_tab_renders_for_a_member(member_client, rich, tab):
    response = member_client.get(url("message", rich) + f"?tab={tab}")
    assert response.status_code == 200
    assert f'id="tab-{tab}"' in response.content.decode()


def test_tabs_show_their_content(owner_client, rich):
    get = lambda tab: owner_client.get(url("message", rich) + f"?tab={tab}").content.decode()  # noqa: E731
    text = get("text")
    assert (
        'Track it at <a target="_blank" rel="noopener noreferrer" href="https://shop.example.com/track/42">'
        "https://shop.example.com/track/42</a> today." in text
    )
    headers = get("headers")
    assert "Subject" in headers and "Content-Type" in headers
    assert "Content-Transfer-Encoding" in get("raw")
    mime = get("mime")
    for ctype in (
        "multipart/mixed",
        "multipart/alternative",
        "multipart/related",
        "text/plain",
        "text/html",
        "image/png",
    ):
        assert ctype in mime
    assert "utf-8" in mime and "base64" in mime and "cid:logo@shop" in mime
    assert "evil.html" in get("attachments")
    links = get("links")
    assert 'href="https://shop.example.com/orders/42"' in links
    assert 'href="https://shop.example.com/track/42"' in links
    assert 'href="javascript:' not in links and "javascript:alert(1)" in links
    envelope = get("envelope")
    assert "app.example.com" in envelope and "TLSv1.3" in envelope and rich.inbox.smtp_username in envelope


def test_width_and_remote_image_toggles(owner_client, rich):
    body = owner_client.get(url("message", rich) + "?tab=html&width=phone").content.decode()
    assert "max-width: 375px" in body
    assert "Remote images are blocked" in body and "remote=1" in body
    body = owner_client.get(url("message", rich) + "?tab=html&remote=1").content.decode()
    assert url("message_html", rich) + "?remote=1" in body


def test_html_frame_is_sandboxed_with_inline_cid_images(owner_client, rich):
    response = owner_client.get(url("message_html", rich))
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert csp.startswith("sandbox allow-popups allow-popups-to-escape-sandbox;")
    assert "allow-scripts" not in csp and "allow-same-origin" not in csp
    assert "default-src 'none'" in csp and "img-src data:;" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    html = response.content.decode()
    assert '<base target="_blank">' in html
    assert "cid:logo@shop" not in html and "data:image/png;base64," in html


def test_html_frame_allows_remote_images_only_on_request(owner_client, rich):
    csp = owner_client.get(url("message_html", rich) + "?remote=1")["Content-Security-Policy"]
    assert "img-src data: https: http:" in csp
    assert "script-src" not in csp and csp.startswith("sandbox allow-popups")


def test_attachment_downloads_as_attachment_never_inline(owner_client, rich):
    from inboxes.mime import read

    view = read(Message.objects.defer(None).get(pk=rich.pk).raw)
    [attachment] = view.files
    response = owner_client.get(url("message_attachment", rich, attachment.index))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;") and "evil.html" in response["Content-Disposition"]
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content == b"<html><script>alert(1)</script></html>"


def test_part_numbers_out_of_range_and_multiparts_give_404(owner_client, rich):
    assert owner_client.get(url("message_part", rich, 99)).status_code == 404
    assert owner_client.get(url("message_part", rich, 0)).status_code == 404  # multipart/mixed


def test_raw_source_and_eml_download_are_byte_exact(owner_client, inbox):
    raw = b"Subject: caf\xc3\xa9\r\nFrom: a@example.com\r\n\r\nline \xff\xfe bytes\r\n"
    message = store_message(inbox, raw)
    download = owner_client.get(url("message_eml", message))
    assert download.content == raw
    assert download["Content-Type"] == "message/rfc822"
    assert download["Content-Disposition"] == f'attachment; filename="message-{message.pk}.eml"'
    source = owner_client.get(url("message_source", message))
    assert source.content == raw and source["Content-Type"] == "text/plain; charset=utf-8"
    assert "sandbox" in source["Content-Security-Policy"]


def test_unparseable_message_shows_raw_source_and_problem(owner_client, inbox):
    raw = (
        b'From: broken@example.com\r\nSubject: broken\r\nContent-Type: multipart/mixed; boundary="zzz"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"--zzz\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"!!!not base64!!!\r\n"
    )
    message = store_message(inbox, raw)
    response = owner_client.get(url("message", message))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="parse-errors"' in body
    raw_tab = owner_client.get(url("message", message) + "?tab=raw").content.decode()
    assert "!!!not base64!!!" in raw_tab
    for tab in ("html", "text", "mime", "links", "headers", "attachments"):
        assert owner_client.get(url("message", message) + f"?tab={tab}").status_code == 200


def test_message_without_html_part_has_no_frame(owner_client, inbox):
    message = store_message(inbox, b"Subject: plain\r\n\r\nJust text, see http://example.com/x.\r\n")
    body = owner_client.get(url("message", message)).content.decode()
    assert "<iframe" not in body and "Just text" in body
    assert owner_client.get(url("message_html", message)).status_code == 404


@pytest.mark.parametrize("name", ["message", "message_html", "message_source", "message_eml"])
def test_outsider_gets_404_and_anonymous_is_sent_to_login(client, outsider, rich, name):
    assert client.get(url(name, rich)).status_code == 302
    client.force_login(outsider)
    assert client.get(url(name, rich)).status_code == 404


def test_outsider_cannot_download_parts(outsider_client, rich):
    assert outsider_client.get(url("message_part", rich, 3)).status_code == 404


def test_message_of_another_inbox_id_combination_is_404(owner_client, rich, team):
    from inboxes.models import Inbox

    other_inbox = Inbox.objects.create(team=team, name="Other")
    response = owner_client.get(reverse("inboxes:message", args=[other_inbox.pk, rich.pk]))
    assert response.status_code == 404


@pytest.mark.parametrize("name", ["message", "message_html", "message_source", "message_eml"])
def test_wrong_method_is_405(owner_client, rich, name):
    assert owner_client.post(url(name, rich)).status_code == 405


def test_mime_tab_downloads_parts_by_their_path(owner_client, rich):
    mime = owner_client.get(url("message", rich) + "?tab=mime").content.decode()
    # mixed > [alternative > [plain, related > [html, png]], evil.html]
    for path in ("1.1", "1.2.1", "1.2.2", "2"):
        assert f'href="{url("message_part", rich, path)}"' in mime
    for container in ("0", "1", "1.2"):
        assert f'href="{url("message_part", rich, container)}"' not in mime
    png = owner_client.get(url("message_part", rich, "1.2.2"))
    assert png.status_code == 200 and png.content == PIXEL
    # Downloads carry the declared type (as in the API), except types a browser would run as a page.
    assert png["Content-Type"] == "image/png" and png["Content-Disposition"].startswith("attachment;")
    evil = owner_client.get(url("message_part", rich, "2"))
    assert evil.content == b"<html><script>alert(1)</script></html>"
    assert evil["Content-Type"] == "application/octet-stream" and evil["Content-Security-Policy"].startswith("sandbox")
    assert owner_client.get(url("message_part", rich, "1.2")).status_code == 404  # multipart/related
    assert owner_client.get(url("message_part", rich, "1.9")).status_code == 404


def test_whole_single_part_message_is_part_0(owner_client, inbox):
    message = store_message(inbox, b"Subject: plain\r\n\r\nJust text.\r\n")
    response = owner_client.get(url("message_part", message, "0"))
    assert response.status_code == 200 and response.content == b"Just text.\r\n"
    assert 'filename="part-0"' in response["Content-Disposition"]


def test_page_and_api_number_attachments_alike(owner_client, owner, api_key, rich):
    from django.test import Client

    api = Client(headers={"Authorization": f"Bearer {api_key(owner)}"})
    detail = api.get(reverse("api:message-detail", args=[rich.inbox_id, rich.pk])).json()
    assert [(a["index"], a["path"], a["content_type"]) for a in detail["attachments"]] == [
        (0, "1.2.2", "image/png"),
        (1, "2", "text/html"),
    ]
    page = owner_client.get(url("message", rich) + "?tab=attachments").content.decode()
    for attachment in detail["attachments"]:
        assert f'href="{url("message_attachment", rich, attachment["index"])}"' in page
        content = api.get(attachment["url"]).content
        assert owner_client.get(url("message_attachment", rich, attachment["index"])).content == content
        assert owner_client.get(url("message_part", rich, attachment["path"])).content == content
    # The logo is listed as shown inside the HTML; the tab counts the one file.
    assert "cid:logo@shop" in page and "Attachments (1)" in page
    assert owner_client.get(url("message_attachment", rich, 2)).status_code == 404


def test_links_tab_reads_links_like_the_api(owner_client, inbox):
    msg = EmailMessage()
    msg["Subject"] = "links"
    msg.set_content("Details (see https://x.example/a) and https://x.example/b_(c).")
    msg.add_alternative('<a href="https://x.example/logo"><img alt="Our logo" src="cid:l"></a>', subtype="html")
    message = store_message(inbox, msg.as_bytes())
    links = owner_client.get(url("message", message) + "?tab=links").content.decode()
    assert "<td>Our logo</td>" in links
    assert 'href="https://x.example/a"' in links and 'href="https://x.example/b_(c)"' in links
    assert "https://x.example/a)" not in links


@pytest.mark.parametrize("name", ["message_part", "message_attachment"])
def test_downloads_check_membership_and_method(client, member, outsider, rich, name):
    address = url(name, rich, "2" if name == "message_part" else 1)
    assert client.get(address).status_code == 302
    client.force_login(outsider)
    assert client.get(address).status_code == 404
    client.force_login(member)
    assert client.post(address).status_code == 405
    assert client.get(address).status_code == 200
