"""The report on the message page (the line, the Report tab), re-running it, the inbox's report settings,
the API and the live event: team members only, each view with its one method."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client
from django.urls import reverse

from inboxes.events import inbox_group
from reports import service
from reports.models import InboxReportSettings, Report

from .conftest import store_message

RAW = (
    b"From: Shop <orders@shop.maildog-tests.net>\r\nTo: ann@customer.maildog-tests.net\r\n"
    b"Subject: Hello\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@shop.maildog-tests.net>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nHi ,\r\nYour link: http://testserver/confirm/abc/\r\n"
)


@pytest.fixture
def message(inbox):
    return store_message(inbox, RAW)


@pytest.fixture
def reported(message):
    service.rerun(message)
    return message


def url(name, message):
    return reverse(f"reports:{name}", args=[message.inbox_id, message.pk])


def test_message_page_shows_the_report_line_and_tab(client, member, reported):
    client.force_login(member)

    page = client.get(reported.get_absolute_url()).content.decode()

    assert 'class="report-line report-line--complete"' in page
    assert 'data-report-errors="1"' in page and 'data-report-warnings="1"' in page
    assert "1 error" in page and "1 warning" in page and "0 notes" in page
    assert f'href="{reported.get_absolute_url()}?tab=report"' in page  # the Report tab of the message view
    assert "points at testserver" in page  # the details, expanded on demand


def test_message_page_before_the_report(client, member, message):
    client.force_login(member)

    page = client.get(message.get_absolute_url()).content.decode()

    assert "report-line--pending" in page
    assert "Not made yet" in page


def test_report_tab_lists_what_where_why_and_fix(client, member, reported):
    client.force_login(member)

    response = client.get(url("report", reported))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-check="link-testserver"' in page
    assert "text, line 2: <code>http://testserver/confirm/abc/</code>" in page
    assert "Why it matters:" in page and "How to fix it:" in page
    assert "MAILDOG_SPAMD_URL is not set" in page
    assert "The link check is off for this inbox" in page


def test_report_tab_inside_the_message_view(client, member, reported):
    client.force_login(member)

    page = client.get(reported.get_absolute_url(), {"tab": "report", "fragment": "1"}).content.decode()

    assert 'id="report-tab"' in page and 'data-check="link-testserver"' in page
    assert 'id="report-rerun"' in page


def test_line_fragment_for_live_updates(client, member, reported):
    client.force_login(member)

    fragment = client.get(url("line", reported)).content.decode()

    assert fragment.count('class="report-line report-line--complete"') == 1
    assert "<html" not in fragment


def test_views_need_their_method(client, member, reported):
    client.force_login(member)

    assert client.post(url("report", reported)).status_code == 405
    assert client.post(url("line", reported)).status_code == 405
    assert client.get(url("rerun", reported)).status_code == 405


def test_outsider_gets_404(client, outsider, reported):
    client.force_login(outsider)

    for name in ("report", "line"):
        assert client.get(url(name, reported)).status_code == 404
    assert client.post(url("rerun", reported)).status_code == 404
    assert client.get(reverse("reports:settings", args=[reported.inbox_id])).status_code == 404


def test_anonymous_is_sent_to_login(client, reported):
    response = client.get(url("report", reported))

    assert response.status_code == 302 and "/login/" in response["Location"]


def test_rerun_after_changing_the_settings(client, owner, reported):
    client.force_login(owner)
    response = client.post(
        reverse("reports:settings", args=[reported.inbox_id]),
        {"expected_site_url": "https://shop.maildog-tests.net", "link_check_hosts": ""},
    )
    assert response.status_code == 302
    before = Report.objects.get(message=reported).created_at

    response = client.post(url("rerun", reported))

    assert response.status_code == 302 and response["Location"] == reported.get_absolute_url() + "?tab=report"
    report = Report.objects.get(message=reported)
    assert report.created_at > before
    assert InboxReportSettings.objects.get(inbox_id=reported.inbox_id).expected_site_url == (
        "https://shop.maildog-tests.net"
    )
    # One finding per link: the testserver link is not also reported as pointing elsewhere than the site.
    assert [f["check"] for f in report.findings if f["text"].startswith("http://testserver")] == ["link-testserver"]


def test_settings_are_for_managers(client, member, owner, inbox):
    settings_url = reverse("reports:settings", args=[inbox.pk])
    client.force_login(member)
    assert client.get(settings_url).status_code == 403
    assert client.post(settings_url, {"link_check": "on"}).status_code == 403
    assert not InboxReportSettings.objects.filter(inbox=inbox).exists()

    client.force_login(owner)
    assert client.get(settings_url).status_code == 200
    response = client.post(settings_url, {"link_check": "on", "link_check_hosts": "App.Example.org\n*.staging.net\n"})
    assert response.status_code == 302
    saved = InboxReportSettings.objects.get(inbox=inbox)
    assert saved.link_check is True and saved.link_check_private is False
    assert saved.allowed_hosts == ["app.example.org", "*.staging.net"]


def test_settings_refuse_a_url_as_a_host(client, owner, inbox):
    client.force_login(owner)

    response = client.post(
        reverse("reports:settings", args=[inbox.pk]), {"link_check_hosts": "https://app.example.org/"}
    )

    assert response.status_code == 200
    assert "is not a host name" in response.content.decode()


# --- API ---------------------------------------------------------------------------------


def api_url(message, rerun=False):
    name = "api:message-report-rerun" if rerun else "api:message-report"
    return reverse(name, args=[message.inbox_id, message.pk])


def test_api_report_is_pending_then_made(member, message, api_key):
    api = Client(headers={"Authorization": f"Bearer {api_key(member)}"})

    pending = api.get(api_url(message)).json()
    made = api.post(api_url(message, rerun=True)).json()

    assert pending["status"] == "pending" and pending["findings"] == []
    assert made["status"] == "complete"
    assert made["counts"] == {"errors": 1, "warnings": 1, "notes": 0}
    [error] = [f for f in made["findings"] if f["severity"] == "error"]
    assert (error["check"], error["part"], error["line"], error["text"]) == (
        "link-testserver",
        "text",
        2,
        "http://testserver/confirm/abc/",
    )
    assert error["why"] and error["fix"]
    assert api.get(api_url(message)).json() == made


def test_message_detail_in_the_api_carries_the_report_counts(member, message, api_key):
    api = Client(headers={"Authorization": f"Bearer {api_key(member)}"})
    detail_url = reverse("api:message-detail", args=[message.inbox_id, message.pk])

    pending = api.get(detail_url).json()["report"]
    api.post(api_url(message, rerun=True))
    made = api.get(detail_url).json()["report"]

    assert pending["status"] == "pending" and pending["errors"] == 0
    assert (made["status"], made["errors"], made["warnings"], made["notes"]) == ("complete", 1, 1, 0)
    assert made["url"] == "http://testserver" + api_url(message)


def test_an_inbox_scoped_token_reads_the_report_but_does_not_rerun_it(member, reported, api_key):
    api = Client(headers={"Authorization": f"Bearer {api_key(member, reported.inbox)}"})

    assert api.get(api_url(reported)).json()["status"] == "complete"
    assert api.post(api_url(reported, rerun=True)).status_code == 403


def test_api_report_of_another_team_is_404(outsider, reported, api_key):
    api = Client(headers={"Authorization": f"Bearer {api_key(outsider)}"})

    assert api.get(api_url(reported)).status_code == 404
    assert api.post(api_url(reported, rerun=True)).status_code == 404


def test_api_schema_lists_the_report(client):
    schema = client.get(reverse("api-schema")).content.decode()

    assert "/api/v1/inboxes/{inbox_id}/messages/{message_id}/report/:" in schema
    assert "Finding:" in schema and "bounded (a budget cut part of the work" in schema


# --- live ------------------------------------------------------------------------------------


def test_rerun_is_pushed_after_commit(message, django_capture_on_commit_callbacks):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(inbox_group(message.inbox_id), channel)

    with django_capture_on_commit_callbacks(execute=True):
        service.rerun(message)

    event = async_to_sync(asyncio.wait_for)(layer.receive(channel), 5)
    assert event["type"] == "message.checked" and event["message_id"] == message.pk
    assert event["report"] == {"status": "complete", "errors": 1, "warnings": 1, "notes": 0}


def test_a_report_that_raises_stays_with_its_message(inbox, monkeypatch):
    first = store_message(inbox, RAW)
    second = store_message(inbox, RAW.replace(b"Subject: Hello", b"Subject: Other"))

    def broken(*args, **kwargs):
        raise RecursionError("deliberately broken check")

    original = service.content.check_headers
    monkeypatch.setattr(service.content, "check_headers", broken)
    service.rerun(first)
    monkeypatch.setattr(service.content, "check_headers", original)
    service.rerun(second)

    failed = Report.objects.get(message=first)
    assert failed.status == Report.Status.FAILED
    assert "RecursionError: deliberately broken check" in failed.data["reason"]
    assert Report.objects.get(message=second).status == Report.Status.COMPLETE


def test_makereports_makes_the_missing_reports_only_unless_all(inbox, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.MAILDOG_REPORTS = True
    old, reported_before = store_message(inbox, RAW), store_message(inbox, RAW)
    service.rerun(reported_before)
    Report.objects.filter(message=reported_before).update(errors=99)

    output = StringIO()
    call_command("makereports", stdout=output)
    assert "Made 1 reports." in output.getvalue()
    assert Report.objects.get(message=old).counts() == {"status": "complete", "errors": 1, "warnings": 1, "notes": 0}
    assert Report.objects.get(message=reported_before).errors == 99  # left alone

    call_command("makereports", "--all", "--inbox", str(inbox.pk), stdout=StringIO())
    assert Report.objects.get(message=reported_before).errors == 1
