"""One download helper: pages, API and admin name files the same way, whatever the sender wrote."""

from email.message import EmailMessage

from django.test import Client
from django.urls import reverse

from .conftest import store_message

FILENAME = "Rechnung März 2026 – €.pdf"


def invoice(inbox):
    message = EmailMessage()
    message["Subject"] = "Invoice"
    message["From"] = "billing@example.com"
    message["To"] = "ann@example.com"
    message.set_content("Attached.")
    message.add_attachment(b"%PDF-1.4 invoice", maintype="application", subtype="pdf", filename=FILENAME)
    return store_message(inbox, message.as_bytes())


def assert_named_download(response, content_type):
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    disposition = response["Content-Disposition"]
    # RFC 6266: the UTF-8 name survives as filename*, and it stays an attachment.
    assert disposition.startswith("attachment; ")
    assert "filename*=utf-8''Rechnung%20M%C3%A4rz%202026%20%E2%80%93%20%E2%82%AC.pdf" in disposition
    assert "=?utf-8?" not in disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"


def test_api_attachment_keeps_a_non_latin1_file_name(owner, inbox, api_key):
    message = invoice(inbox)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {api_key(owner)}")
    response = api.get(reverse("api:message-attachment", args=[inbox.pk, message.pk, 0]))
    assert_named_download(response, "application/pdf")
    assert response.content == b"%PDF-1.4 invoice"


def test_page_attachment_is_named_the_same_way(owner_client, inbox):
    message = invoice(inbox)
    response = owner_client.get(reverse("inboxes:message_attachment", args=[inbox.pk, message.pk, 0]))
    assert_named_download(response, "application/pdf")
    assert response.content == b"%PDF-1.4 invoice"


def test_eml_downloads_match_on_page_api_and_admin(owner, owner_client, inbox, api_key, admin_client):
    message = invoice(inbox)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {api_key(owner)}")
    responses = [
        owner_client.get(reverse("inboxes:message_eml", args=[inbox.pk, message.pk])),
        api.get(reverse("api:message-raw", args=[inbox.pk, message.pk])),
        admin_client.get(reverse("admin:inboxes_message_raw", args=[message.pk])),
    ]
    for response in responses:
        assert response.status_code == 200
        assert response["Content-Disposition"] == f'attachment; filename="message-{message.pk}.eml"'
        assert response["Content-Type"] == "message/rfc822"
        assert response.content == bytes(type(message).objects.defer(None).get(pk=message.pk).raw)
