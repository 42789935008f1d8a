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


def test_reports_are_listed_read_only_with_their_findings_escaped(client, inbox):
    from reports import service
    from reports.models import Report

    hostile = (
        b"From: app@example.com\r\nSubject: Hi {{ user.name }}<script>alert(1)</script>\r\n\r\n"
        b"Link: http://testserver/reset/x/\r\n"
    )
    message = ingest(inbox.pk, hostile, SessionFacts(mail_from="app@example.com", rcpt_tos=["a@example.com"]))
    service.rerun(message)
    report = Report.objects.get(message=message)
    assert {"template-variable", "link-testserver"} <= {finding["check"] for finding in report.findings}
    staff(client)
    listing = client.get(reverse("admin:reports_report_changelist"))
    assert listing.status_code == 200 and f"Report on message {message.pk}".encode() in listing.content
    page = client.get(reverse("admin:reports_report_change", args=[message.pk])).content.decode()
    assert "http://testserver/reset/x/" in page
    assert "<script>alert(1)" not in page and "{{ user.name }}&lt;script&gt;alert(1)" in page
    assert client.get(reverse("admin:reports_report_add")).status_code == 403
    assert client.post(reverse("admin:reports_report_change", args=[message.pk]), {}).status_code == 403


def test_inbox_report_settings_are_edited_in_admin(client, inbox):
    from reports.models import InboxReportSettings

    staff(client)
    response = client.post(
        reverse("admin:reports_inboxreportsettings_add"),
        {"inbox": inbox.pk, "expected_site_url": "https://app.example.com", "link_check_hosts": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    settings = InboxReportSettings.objects.get(inbox=inbox)
    assert settings.expected_site_url == "https://app.example.com" and settings.link_check is False
    listing = client.get(reverse("admin:reports_inboxreportsettings_changelist")).content.decode()
    assert "https://app.example.com" in listing
