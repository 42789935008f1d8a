"""What the API tells about messages: search, full detail, raw source, attachments, delete, clear, credentials."""

import smtplib
from datetime import timedelta

import pytest
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inboxes.ingest import SessionFacts
from inboxes.models import Message

from .conftest import ingest, smtp_backend


@pytest.fixture
def api(owner, api_key):
    return Client(headers={"Authorization": f"Bearer {api_key(owner)}"})


def store(inbox, subject, to="alice@example.com", sender="app@example.com", body="Hello", cc=None):
    headers = f"From: {sender}\r\nTo: {to}\r\n" + (f"Cc: {cc}\r\n" if cc else "") + f"Subject: {subject}\r\n"
    raw = f"{headers}\r\n{body}\r\n".encode()
    return ingest(inbox.pk, raw, SessionFacts(mail_from=sender, rcpt_tos=[to] + ([cc] if cc else [])))


def results(response):
    assert response.status_code == 200, response.content
    return [item["subject"] for item in response.json()["results"]]


def test_list_is_newest_first_with_summaries(api, inbox):
    store(inbox, "First")
    second = store(inbox, "Second", to="bob@example.com")
    response = api.get(reverse("api:message-list", args=[inbox.pk]))
    body = response.json()
    assert body["count"] == 2
    assert [item["subject"] for item in body["results"]] == ["Second", "First"]
    item = body["results"][0]
    assert item["id"] == second.pk and item["seq"] == 2 and item["inbox_id"] == inbox.pk
    assert item["from"] == "app@example.com" and item["to"] == "bob@example.com"
    assert item["envelope_to"] == ["bob@example.com"]
    assert item["url"] == f"http://testserver/api/v1/inboxes/{inbox.pk}/messages/{second.pk}/"


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"to": "BOB@example"}, ["Welcome Bob"]),
        ({"to": "carol@example.com"}, ["Cc to Carol"]),  # Cc header and envelope
        ({"from": "billing@"}, ["Invoice"]),
        ({"subject": "welcome"}, ["Welcome Bob"]),
        ({"text": "code 4242"}, ["Your code"]),
        ({"subject": "welcome", "to": "alice"}, []),
        ({"after_seq": "3"}, ["Your code"]),
    ],
)
def test_search_filters(api, inbox, params, expected):
    store(inbox, "Welcome Bob", to="bob@example.com")
    store(inbox, "Invoice", sender="billing@app.example.com")
    store(inbox, "Cc to Carol", cc="carol@example.com")
    store(inbox, "Your code", body="Your code 4242 expires soon")
    assert results(api.get(reverse("api:message-list", args=[inbox.pk]), params)) == expected


def test_received_after_filter(api, inbox):
    old = store(inbox, "Old")
    Message.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(hours=2))
    store(inbox, "New")
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    assert results(api.get(reverse("api:message-list", args=[inbox.pk]), {"received_after": since})) == ["New"]
    response = api.get(reverse("api:message-list", args=[inbox.pk]), {"received_after": "last week"})
    assert response.status_code == 400


def test_offset_pagination_still_works(api, inbox):
    for number in range(5):
        store(inbox, f"Message {number}")
    body = api.get(reverse("api:message-list", args=[inbox.pk]), {"limit": 2, "offset": 1}).json()
    assert body["count"] == 5 and body["count_exact"] is True
    assert [item["subject"] for item in body["results"]] == ["Message 3", "Message 2"]
    assert "offset=3" in body["next"]


def test_keyset_pages_walk_the_whole_list_by_next_without_repeats_when_mail_arrives(api, inbox):
    for number in range(7):
        store(inbox, f"Message {number}")
    url = reverse("api:message-list", args=[inbox.pk])
    first = api.get(url, {"limit": 3}).json()
    assert first["count"] == 7 and first["count_exact"] is True and first["previous"] is None
    assert [item["subject"] for item in first["results"]] == ["Message 6", "Message 5", "Message 4"]
    assert "offset" not in first["next"] and "limit=3" in first["next"]
    store(inbox, "Arrived while paging")  # an offset page would now repeat "Message 4"
    seen, body = [item["subject"] for item in first["results"]], first
    while body["next"]:
        body = api.get(body["next"]).json()
        seen += [item["subject"] for item in body["results"]]
        assert body["previous"] is not None
    assert seen == [f"Message {number}" for number in range(6, -1, -1)]


def test_keyset_pages_apply_the_search(api, inbox):
    for number in range(6):
        store(inbox, f"Invoice {number}" if number % 2 else f"Receipt {number}")
    url = reverse("api:message-list", args=[inbox.pk])
    first = api.get(url, {"q": "subject:invoice", "limit": 2}).json()
    assert first["count"] == 3 and [item["subject"] for item in first["results"]] == ["Invoice 5", "Invoice 3"]
    assert results(api.get(first["next"])) == ["Invoice 1"]


@pytest.mark.parametrize("params", [{"limit": "many"}, {"before_seq": "0"}, {"before_seq": "x"}])
def test_keyset_page_parameters_are_checked(api, inbox, params):
    response = api.get(reverse("api:message-list", args=[inbox.pk]), params)
    assert response.status_code == 400
    assert set(response.json()) == set(params)


def test_a_count_past_the_cap_says_it_is_not_exact(api, inbox, monkeypatch):
    monkeypatch.setattr("api.pagination.COUNT_CAP", 3)
    for number in range(5):
        store(inbox, f"Message {number}")
    body = api.get(reverse("api:message-list", args=[inbox.pk]), {"limit": 2}).json()
    assert body["count"] == 3 and body["count_exact"] is False


def test_full_message_sent_through_django(api, smtp_server, inbox, wire_recorder):
    email = EmailMultiAlternatives(
        "Confirm your address",
        "Hi Ann,\nconfirm: https://app.example.com/confirm/XYZ/?next=/home (valid 1 day).\nCode: 734 912",
        "App <noreply@app.example.com>",
        ["ann@example.com"],
        cc=["boss@example.com"],
        headers={"X-Trace": "abc"},
        connection=smtp_backend(smtp_server, inbox),
    )
    email.attach_alternative(
        '<p>Hi Ann,</p><p><a href="https://app.example.com/confirm/XYZ/?next=/home&amp;x=1">Confirm <b>my</b> '
        'address</a> or <a href="https://app.example.com/help">get help</a>.</p><img src="cid:logo">',
        "text/html",
    )
    email.attach("terms.pdf", b"%PDF-1.4 terms", "application/pdf")
    email.send()
    message = Message.objects.get(inbox=inbox)

    body = api.get(reverse("api:message-detail", args=[inbox.pk, message.pk])).json()
    assert body["subject"] == "Confirm your address"
    assert body["from"] == "App <noreply@app.example.com>"
    assert body["cc"] == "boss@example.com"
    assert body["message_id"] == message.message_id and body["date"]
    assert {"name": "X-Trace", "value": "abc"} in body["headers"]
    assert body["text"].startswith("Hi Ann,\nconfirm: https://app.example.com/confirm/XYZ/?next=/home (valid")
    assert '<a href="https://app.example.com/help">get help</a>' in body["html"]
    assert [(part["path"], part["content_type"], part["depth"]) for part in body["parts"]] == [
        ("", "multipart/mixed", 0),
        ("1", "multipart/alternative", 1),
        ("1.1", "text/plain", 2),
        ("1.2", "text/html", 2),
        ("2", "application/pdf", 1),
    ]
    assert body["parts"][2]["charset"] == "utf-8"
    assert body["parts"][4]["encoding"] == "base64" and body["parts"][4]["size"] == len(b"%PDF-1.4 terms")
    [attachment] = body["attachments"]
    assert attachment["filename"] == "terms.pdf" and attachment["content_type"] == "application/pdf"
    assert attachment["size"] == 14 and attachment["disposition"] == "attachment"
    assert body["links"] == [
        {"href": "https://app.example.com/confirm/XYZ/?next=/home&x=1", "text": "Confirm my address", "source": "html"},
        {"href": "https://app.example.com/help", "text": "get help", "source": "html"},
        {"href": "https://app.example.com/confirm/XYZ/?next=/home", "text": "", "source": "text"},
    ]
    assert body["session"]["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert body["session"]["auth_username"] == inbox.smtp_username
    assert body["errors"] == []

    raw = api.get(body["raw_url"])
    assert raw.status_code == 200
    assert raw.content == wire_recorder[0]
    assert raw["Content-Type"] == "message/rfc822"
    assert raw["Content-Disposition"] == f'attachment; filename="message-{message.pk}.eml"'

    download = api.get(attachment["url"])
    assert download.status_code == 200
    assert download.content == b"%PDF-1.4 terms"
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="terms.pdf"'
    assert download["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert api.get(reverse("api:message-attachment", args=[inbox.pk, message.pk, 1])).status_code == 404


def test_authentication_results_when_present(api, inbox):
    message = store(inbox, "Signed")
    checked = timezone.now()
    Message.objects.filter(pk=message.pk).update(
        deliverability_verdict="pass",
        deliverability_results={"spf": {"result": "pass"}},
        deliverability_checked_at=checked,
    )
    body = api.get(reverse("api:message-detail", args=[inbox.pk, message.pk])).json()
    assert body["authentication"]["verdict"] == "pass"
    assert body["authentication"]["results"] == {"spf": {"result": "pass"}}
    assert body["authentication"]["checked_at"].startswith(checked.strftime("%Y-%m-%dT%H:%M"))


def test_broken_message_is_shown_with_its_errors(api, inbox):
    raw = (
        b"Subject: =?utf-8?q?broken\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n"
        b"--zz\r\nContent-Type: text/plain; charset=no-such-charset\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"!!not base64!!\r\n"
    )
    message = ingest(inbox.pk, raw, SessionFacts(mail_from="x@example.com", rcpt_tos=["y@example.com"]))
    response = api.get(reverse("api:message-detail", args=[inbox.pk, message.pk]))
    assert response.status_code == 200
    body = response.json()
    assert any("CloseBoundaryNotFound" in error for error in body["errors"])
    assert [part["path"] for part in body["parts"]] == ["", "1"]


def test_delete_one_message(api, inbox):
    kept = store(inbox, "Kept")
    gone = store(inbox, "Gone")
    response = api.delete(reverse("api:message-detail", args=[inbox.pk, gone.pk]))
    assert response.status_code == 204
    assert list(Message.objects.filter(inbox=inbox).values_list("pk", flat=True)) == [kept.pk]
    assert api.get(reverse("api:message-detail", args=[inbox.pk, gone.pk])).status_code == 404


def test_clear_inbox_deletes_its_messages_only(api, team, inbox):
    from inboxes.models import Inbox

    other = Inbox.objects.create(team=team, name="Other")
    store(inbox, "One")
    store(inbox, "Two")
    kept = store(other, "Elsewhere")
    response = api.delete(reverse("api:message-list", args=[inbox.pk]))
    assert response.status_code == 200
    assert response.json() == {"deleted": 2}
    assert list(Message.objects.values_list("pk", flat=True)) == [kept.pk]


def test_inbox_detail_gives_smtp_settings_and_last_seq(api, inbox):
    store(inbox, "One")
    body = api.get(reverse("api:inbox-detail", args=[inbox.pk])).json()
    assert body["name"] == "Staging" and body["team"]["name"] == "Acme QA"
    assert body["last_seq"] == 1 and body["message_count"] == 1
    assert body["smtp"]["username"] == inbox.smtp_username
    assert body["smtp"]["password"] == inbox.smtp_password
    assert body["messages_url"] == f"http://testserver/api/v1/inboxes/{inbox.pk}/messages/"


def test_scoped_token_does_not_see_smtp_password(inbox, member, api_key):
    client = Client(headers={"Authorization": f"Bearer {api_key(member, inbox)}"})
    assert client.get(reverse("api:inbox-detail", args=[inbox.pk])).json()["smtp"] is None


def test_reset_credentials_replaces_them_for_smtp(api, smtp_server, inbox, client_tls_context):
    old_username, old_password = inbox.smtp_username, inbox.smtp_password
    response = api.post(reverse("api:inbox-reset-credentials", args=[inbox.pk]))
    assert response.status_code == 200
    new = response.json()
    assert new["username"] != old_username and new["password"] != old_password
    with smtplib.SMTP("localhost", smtp_server.starttls_port, timeout=10) as smtp:
        smtp.starttls(context=client_tls_context)
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login(old_username, old_password)
    with smtplib.SMTP("localhost", smtp_server.starttls_port, timeout=10) as smtp:
        smtp.starttls(context=client_tls_context)
        smtp.login(new["username"], new["password"])
        smtp.sendmail("a@example.com", ["b@example.com"], b"Subject: after reset\r\n\r\nok\r\n")
    assert Message.objects.get(inbox=inbox).subject == "after reset"
