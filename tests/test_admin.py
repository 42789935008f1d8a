"""Django admin: captured messages are listed and their raw source downloadable by staff."""

from django.urls import reverse

from inboxes.ingest import SessionFacts
from tests.conftest import make_user

from .conftest import ingest

RAW = b"From: app@example.com\r\nSubject: Admin view\r\n\r\nBody \xe2\x9c\x93\r\n"


def staff(client):
    user = make_user("staff@example.com", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def test_message_list_and_raw_download(client, inbox):
    message = ingest(inbox.pk, RAW, SessionFacts(mail_from="app@example.com", rcpt_tos=["a@example.com"]))
    staff(client)
    listing = client.get(reverse("admin:inboxes_message_changelist"))
    assert b"Admin view" in listing.content
    detail = client.get(reverse("admin:inboxes_message_change", args=[message.pk]))
    assert detail.status_code == 200 and "Body ✓" in detail.content.decode()
    download = client.get(reverse("admin:inboxes_message_raw", args=[message.pk]))
    assert download["Content-Type"] == "message/rfc822"
    assert "attachment" in download["Content-Disposition"]
    assert download.content == RAW


def test_raw_download_needs_staff(client, inbox, member):
    message = ingest(inbox.pk, RAW, SessionFacts())
    client.force_login(member)
    response = client.get(reverse("admin:inboxes_message_raw", args=[message.pk]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_clear_inbox_action(client, inbox):
    for _ in range(3):
        ingest(inbox.pk, RAW, SessionFacts())
    staff(client)
    response = client.post(
        reverse("admin:inboxes_inbox_changelist"),
        {"action": "clear_messages", "_selected_action": [inbox.pk]},
    )
    assert response.status_code == 302
    assert inbox.messages.count() == 0
