"""The message list: order, markers, keyset pages, search, read state, deletion, access."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inboxes.models import Inbox, Message
from inboxes.views.messages import PAGE_SIZE

from .conftest import store_message

pytestmark = pytest.mark.django_db


def mail(subject, sender="app@example.com", to="alice@example.com", extra=b""):
    return f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n".encode() + extra + b"\r\nbody\r\n"


def list_url(inbox, query=""):
    return reverse("inboxes:inbox", args=[inbox.pk]) + query


def test_list_shows_newest_first_with_markers(member_client, inbox):
    store_message(inbox, mail("Older"))
    attached = (
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        b"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\r\nx\r\n--b--\r\n"
    )
    store_message(inbox, b"From: billing@example.com\r\nTo: bob@example.com\r\nSubject: Newer\r\n" + attached)
    response = member_client.get(list_url(inbox))
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index("Newer") < body.index("Older")
    assert "billing@example.com" in body and "bob@example.com" in body
    assert 'title="Has attachments"' in body
    listed = body.split('<template id="row-template">')[0]  # the live rows' prototype is not a row
    assert listed.count('class="message-row unread"') == 2
    assert 'data-last-seq="2"' in body and 'data-live-insert="1"' in body


def test_list_rows_escape_what_senders_write_and_mark_the_verdict(member_client, inbox):
    hostile = store_message(
        inbox,
        mail('<script>alert("s")</script> & more', sender='"<img src=x onerror=alert(1)>" <evil@example.com>'),
    )
    Message.objects.filter(pk=hostile.pk).update(
        deliverability_verdict="fail", deliverability_results={"headline": 'Would fail: "quoted" <b>bold</b>'}
    )
    body = member_client.get(list_url(inbox)).content.decode()
    row = re.search(rf'<tr class="message-row unread" data-seq="1" data-id="{hostile.pk}">.*?</tr>', body, re.S).group()
    assert "<script>" not in row and "<img" not in row
    assert "&lt;script&gt;alert(&quot;s&quot;)&lt;/script&gt; &amp; more" in row
    assert "&lt;img src=x onerror=alert(1)&gt;" in row
    assert (
        f'<span class="auth-marker auth-marker--fail" data-auth-marker-id="{hostile.pk}" '
        'title="Would fail: &quot;quoted&quot; &lt;b&gt;bold&lt;/b&gt;">Would fail</span>'
    ) in row
    assert f'href="{hostile.get_absolute_url()}"' in row


def test_list_row_without_to_lists_the_envelope_whatever_it_holds(member_client, inbox):
    """Rows written by other means than SMTP may hold anything in the envelope: the list still renders."""
    stored = store_message(inbox, b"From: app@example.com\r\nSubject: No To\r\n\r\nbody\r\n")
    Message.objects.filter(pk=stored.pk).update(envelope_to=["<b>x</b>@example.com", 42])
    response = member_client.get(list_url(inbox))
    assert response.status_code == 200
    assert "to &lt;b&gt;x&lt;/b&gt;@example.com, 42</div>" in response.content.decode()


def test_list_pages_by_sequence_without_counting(member_client, inbox):
    for n in range(PAGE_SIZE + 5):
        store_message(inbox, mail(f"Message {n:03d}"))
    with CaptureQueriesContext(connection) as queries:
        first = member_client.get(list_url(inbox)).content.decode()
    message_queries = [q["sql"] for q in queries if "inboxes_message" in q["sql"]]
    # The list itself never counts the inbox (the sidebar counts only unread mail).
    assert not [sql for sql in message_queries if "COUNT" in sql.upper() and "is_read" not in sql]
    assert "Message 054" in first and "Message 004" not in first
    oldest_on_first = Message.objects.get(subject="Message 005").seq
    assert f"before={oldest_on_first}" in first
    second = member_client.get(list_url(inbox, f"?before={oldest_on_first}")).content.decode()
    assert "Message 004" in second and "Message 000" in second and "Message 005" not in second
    assert 'data-live-insert="0"' in second
    assert f"after={Message.objects.get(subject='Message 004').seq}" in second
    back = member_client.get(
        list_url(inbox, f"?after={Message.objects.get(subject='Message 004').seq}")
    ).content.decode()
    assert "Message 054" in back and "Message 005" in back and "Message 004" not in back


def test_list_never_loads_raw(member_client, inbox):
    store_message(inbox, mail("Big", extra=b"X-Pad: " + b"a" * 500 + b"\r\n"))
    with CaptureQueriesContext(connection) as queries:
        member_client.get(list_url(inbox))
    assert not [q for q in queries if '"raw"' in q["sql"] and "inboxes_message" in q["sql"]]


@pytest.mark.parametrize(
    "query,expected", [("invoice", "Invoice 7"), ("billing@", "Invoice 7"), ("carol", "For Carol")]
)
def test_search_by_subject_sender_recipient(member_client, inbox, query, expected):
    store_message(inbox, mail("Invoice 7", sender="billing@example.com"))
    store_message(inbox, mail("For Carol", to="carol@example.com"))
    store_message(inbox, mail("Unrelated"))
    body = member_client.get(list_url(inbox, f"?q={query}")).content.decode()
    body = re.sub(r"</?mark>", "", body)  # matched words are highlighted
    assert expected in body and "Unrelated" not in body
    assert 'data-live-insert="0"' in body


def test_bulk_mark_read_unread_and_delete(member_client, inbox):
    a, b, c = (store_message(inbox, mail(s)) for s in "abc")
    mark = lambda state: reverse("inboxes:messages_mark", args=[inbox.pk, state])  # noqa: E731
    response = member_client.post(mark("read"), {"ids": [a.pk, b.pk]})
    assert response.status_code == 302 and response["Location"] == list_url(inbox)
    assert set(Message.objects.filter(is_read=True).values_list("pk", flat=True)) == {a.pk, b.pk}
    member_client.post(mark("unread"), {"ids": [a.pk], "next": list_url(inbox, "?q=a")})
    assert set(Message.objects.filter(is_read=True).values_list("pk", flat=True)) == {b.pk}
    response = member_client.post(reverse("inboxes:messages_delete", args=[inbox.pk]), {"ids": [a.pk, c.pk]})
    assert response.status_code == 302
    assert list(Message.objects.values_list("pk", flat=True)) == [b.pk]


def test_bulk_actions_ignore_other_inboxes_messages(member_client, inbox, outsider):
    foreign_inbox = Inbox.objects.create(team=outsider.teams.get(), name="Theirs")
    foreign = store_message(foreign_inbox, mail("theirs"))
    member_client.post(reverse("inboxes:messages_delete", args=[inbox.pk]), {"ids": [foreign.pk]})
    member_client.post(reverse("inboxes:messages_mark", args=[inbox.pk, "read"]), {"ids": [foreign.pk]})
    foreign.refresh_from_db()
    assert not foreign.is_read


def test_next_must_stay_on_site(member_client, inbox):
    response = member_client.post(
        reverse("inboxes:messages_mark", args=[inbox.pk, "read"]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == list_url(inbox)


def test_single_message_mark_and_delete(member_client, inbox):
    message = store_message(inbox, mail("one"))
    unread = reverse("inboxes:message_mark", args=[inbox.pk, message.pk, "unread"])
    read = reverse("inboxes:message_mark", args=[inbox.pk, message.pk, "read"])
    assert member_client.post(read).status_code == 302
    message.refresh_from_db()
    assert message.is_read
    assert member_client.post(unread)["Location"] == list_url(inbox)
    message.refresh_from_db()
    assert not message.is_read
    assert member_client.post(reverse("inboxes:message_delete", args=[inbox.pk, message.pk])).status_code == 302
    assert not Message.objects.exists()


def test_outsider_gets_404_everywhere(outsider_client, inbox):
    message = store_message(inbox, mail("secret"))
    assert outsider_client.get(list_url(inbox)).status_code == 404
    assert (
        outsider_client.post(reverse("inboxes:messages_delete", args=[inbox.pk]), {"ids": [message.pk]}).status_code
        == 404
    )
    assert (
        outsider_client.post(
            reverse("inboxes:messages_mark", args=[inbox.pk, "read"]), {"ids": [message.pk]}
        ).status_code
        == 404
    )
    assert outsider_client.post(reverse("inboxes:message_delete", args=[inbox.pk, message.pk])).status_code == 404
    assert outsider_client.post(reverse("inboxes:message_mark", args=[inbox.pk, message.pk, "read"])).status_code == 404
    assert Message.objects.filter(pk=message.pk, is_read=False).exists()


def test_anonymous_is_sent_to_login(client, inbox):
    response = client.get(list_url(inbox))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post(reverse("inboxes:messages_delete", args=[inbox.pk])).status_code == 302


def test_wrong_methods(member_client, inbox):
    message = store_message(inbox, mail("m"))
    assert member_client.post(list_url(inbox)).status_code == 405
    assert member_client.get(reverse("inboxes:messages_delete", args=[inbox.pk])).status_code == 405
    assert member_client.get(reverse("inboxes:messages_mark", args=[inbox.pk, "read"])).status_code == 405
    assert member_client.get(reverse("inboxes:message_delete", args=[inbox.pk, message.pk])).status_code == 405
    assert member_client.get(reverse("inboxes:message_mark", args=[inbox.pk, message.pk, "read"])).status_code == 405


def test_sidebar_shows_unread_counts(member_client, inbox):
    store_message(inbox, mail("a"))
    store_message(inbox, mail("b"))
    body = member_client.get(reverse("inboxes:home")).content.decode()
    assert re.search(rf'data-unread-inbox="{inbox.pk}"[^>]*>2<', body)


def test_unread_counts_look_only_at_the_newest_window(inbox, monkeypatch):
    from inboxes import unread

    monkeypatch.setattr(unread, "UNREAD_WINDOW", 3)
    for n in range(5):
        store_message(inbox, mail(f"m{n}"))
    inbox.refresh_from_db()
    assert unread.unread_counts([inbox]) == {inbox.pk: 3}
    Message.objects.filter(inbox=inbox, seq=5).update(is_read=True)
    assert unread.unread_counts([inbox]) == {inbox.pk: 2}
    assert unread.unread_counts([]) == {}


def test_home_lists_teams_and_inboxes(client, owner, member, outsider, inbox):
    client.force_login(member)
    body = client.get(reverse("inboxes:home")).content.decode()
    assert "Acme QA" in body and "Staging" in body and "New inbox" not in body.split("<main")[1]
    client.force_login(owner)
    assert "New inbox" in client.get(reverse("inboxes:home")).content.decode().split("<main")[1]
    client.force_login(outsider)
    body = client.get(reverse("inboxes:home")).content.decode()
    assert "Staging" not in body and "Other team" in body
    assert client.post(reverse("inboxes:home")).status_code == 405
    client.logout()
    assert client.get(reverse("inboxes:home")).status_code == 302
