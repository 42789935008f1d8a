"""Live updates over websockets: members get new messages after a real SMTP delivery."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.mail import EmailMessage, send_mail
from django.urls import reverse, set_script_prefix

from inboxes import events
from inboxes.models import Message
from maildog_site.asgi import application

from .conftest import smtp_backend, store_message

pytestmark = pytest.mark.django_db(transaction=True)


async def connect_as(path, user):
    """A connected communicator whose scope carries `user` (as AuthMiddleware would set it)."""
    # AuthMiddlewareStack resolves the user from the session cookie; log in through a session.
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    @sync_to_async
    def make_session():
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        return session.session_key

    key = await make_session()
    comm = WebsocketCommunicator(
        application, path, headers=[(b"origin", b"http://localhost"), (b"cookie", f"sessionid={key}".encode())]
    )
    connected, code = await comm.connect()
    return comm, connected, code


async def receive(comm, timeout=10):
    """The next JSON frame; polls so events sent from the SMTP thread are picked up promptly."""
    await comm.receive_nothing(timeout=timeout, interval=0.01)
    return await comm.receive_json_from(timeout=1)


def deliver(smtp_server, inbox, subject):
    send_mail(subject, "Hello", "app@example.com", ["bob@example.com"], connection=smtp_backend(smtp_server, inbox))


async def test_member_receives_new_message_after_smtp_delivery(smtp_server, inbox, member):
    comm, connected, _ = await connect_as(f"/ws/inboxes/{inbox.pk}/", member)
    assert connected
    await asyncio.to_thread(deliver, smtp_server, inbox, "Live one")
    event = await receive(comm)
    assert event["type"] == "message.new"
    message = await Message.objects.aget(inbox=inbox)
    assert event["message"]["id"] == message.pk
    assert event["message"]["subject"] == "Live one"
    assert event["message"]["seq"] == 1
    assert event["message"]["url"] == message.get_absolute_url()
    await comm.disconnect()


def test_the_events_link_is_the_message_page_under_any_script_prefix(inbox):
    message = store_message(inbox, b"Subject: Behind a proxy\r\n\r\nHello\r\n")
    try:
        for prefix in ("/", "/maildog/", "/", "/tools/mail/"):
            set_script_prefix(prefix)
            url = events.message_summary(message)["url"]
            assert url == message.get_absolute_url() == reverse("inboxes:message", args=[inbox.pk, message.pk])
            assert url.startswith(prefix) and url.endswith(f"/{message.pk}/")
    finally:
        set_script_prefix("/")


async def test_outsider_is_refused(inbox, outsider):
    comm, connected, code = await connect_as(f"/ws/inboxes/{inbox.pk}/", outsider)
    assert not connected and code == 4403


async def test_anonymous_is_refused(inbox):
    comm = WebsocketCommunicator(application, f"/ws/inboxes/{inbox.pk}/", headers=[(b"origin", b"http://localhost")])
    connected, code = await comm.connect()
    assert not connected and code == 4403


async def test_foreign_origin_is_refused(inbox, member):
    comm = WebsocketCommunicator(application, f"/ws/inboxes/{inbox.pk}/", headers=[(b"origin", b"http://evil.example")])
    connected, _ = await comm.connect()
    assert not connected


async def test_reconnect_catches_up_on_missed_messages(inbox, member):
    await sync_to_async(store_message)(inbox, b"Subject: first\r\n\r\n1\r\n")
    comm, connected, _ = await connect_as(f"/ws/inboxes/{inbox.pk}/", member)
    assert connected
    await comm.disconnect()
    # While the socket was down:
    for n in (2, 3):
        await sync_to_async(store_message)(inbox, f"Subject: missed {n}\r\n\r\n{n}\r\n".encode())
    comm, connected, _ = await connect_as(f"/ws/inboxes/{inbox.pk}/", member)
    await comm.send_json_to({"type": "catch_up", "after_seq": 1})
    event = await receive(comm)
    assert event["type"] == "caught_up" and not event["truncated"]
    assert [m["subject"] for m in event["messages"]] == ["missed 2", "missed 3"]
    assert [m["seq"] for m in event["messages"]] == [2, 3]
    await comm.send_json_to({"type": "catch_up", "after_seq": "x"})
    assert (await receive(comm))["type"] == "error"
    await comm.disconnect()


async def test_checked_events_are_forwarded(inbox, member):
    from channels.layers import get_channel_layer

    comm, connected, _ = await connect_as(f"/ws/inboxes/{inbox.pk}/", member)
    await get_channel_layer().group_send(
        f"inbox-{inbox.pk}", {"type": "message.checked", "message_id": 7, "verdict": "pass"}
    )
    assert await receive(comm) == {"type": "message.checked", "message_id": 7, "verdict": "pass"}
    await comm.disconnect()


async def test_unread_counts_follow_new_mail_for_members_only(smtp_server, inbox, member, outsider):
    await sync_to_async(store_message)(inbox, b"Subject: old\r\n\r\nx\r\n")
    comm, connected, _ = await connect_as("/ws/unread/", member)
    assert connected
    assert await receive(comm) == {"type": "unread", "counts": {str(inbox.pk): 1}, "window": 1000}
    other, connected, _ = await connect_as("/ws/unread/", outsider)
    initial = await receive(other)
    assert str(inbox.pk) not in initial["counts"]
    await asyncio.to_thread(deliver, smtp_server, inbox, "Counted")
    assert await receive(comm) == {"type": "unread", "counts": {str(inbox.pk): 2}, "window": 1000}
    assert await other.receive_nothing(timeout=0.3)
    await comm.disconnect()
    await other.disconnect()


async def test_unread_socket_refuses_anonymous():
    comm = WebsocketCommunicator(application, "/ws/unread/", headers=[(b"origin", b"http://localhost")])
    connected, code = await comm.connect()
    assert not connected and code == 4401


async def test_removed_member_stops_receiving(inbox, member, monkeypatch):
    from channels.layers import get_channel_layer

    from accounts.models import Membership
    from inboxes import consumers

    monkeypatch.setattr(consumers, "MEMBERSHIP_RECHECK", 0)
    comm, connected, _ = await connect_as(f"/ws/inboxes/{inbox.pk}/", member)
    assert connected
    await Membership.objects.filter(user=member).adelete()
    await sync_to_async(store_message)(inbox, b"Subject: after removal\r\n\r\nx\r\n")
    await get_channel_layer().group_send(f"inbox-{inbox.pk}", {"type": "message.checked", "message_id": 1})
    output = await comm.receive_output(timeout=5)
    assert output == {"type": "websocket.close", "code": 4403}


async def test_removed_member_stops_receiving_unread_counts(smtp_server, inbox, member, monkeypatch):
    from accounts.models import Membership
    from inboxes import consumers

    monkeypatch.setattr(consumers, "MEMBERSHIP_RECHECK", 0)
    comm, connected, _ = await connect_as("/ws/unread/", member)
    assert connected
    assert (await receive(comm))["counts"] == {str(inbox.pk): 0}
    await Membership.objects.filter(user=member).adelete()
    await asyncio.to_thread(deliver, smtp_server, inbox, "Not for a former member")
    output = await comm.receive_output(timeout=10)
    assert output == {"type": "websocket.close", "code": 4403}


def deliver_many(smtp_server, inbox, count, sessions=4):
    """`count` messages over `sessions` concurrent connections (so they share group commits)."""
    from concurrent.futures import ThreadPoolExecutor

    def session(number):
        connection = smtp_backend(smtp_server, inbox)
        messages = [
            EmailMessage(f"Burst {n}", "Hello", "app@example.com", ["bob@example.com"], connection=connection)
            for n in range(number, count, sessions)
        ]
        return connection.send_messages(messages)

    with ThreadPoolExecutor(sessions) as pool:
        return sum(pool.map(session, range(sessions)))


async def test_a_burst_of_mail_reaches_the_page_once_each_in_seq_order(smtp_server, inbox, member):
    comm, connected, _ = await connect_as(f"/ws/inboxes/{inbox.pk}/", member)
    assert connected
    assert await asyncio.to_thread(deliver_many, smtp_server, inbox, 60) == 60
    seqs = []
    while len(seqs) < 60:
        event = await receive(comm)
        if event["type"] == "message.new":  # between them, the checks' verdicts
            seqs.append(event["message"]["seq"])
    assert seqs == list(range(1, 61))
    await comm.disconnect()


async def test_unread_counts_of_a_burst_are_coalesced_and_end_right(smtp_server, inbox, member):
    comm, connected, _ = await connect_as("/ws/unread/", member)
    assert connected
    assert await receive(comm) == {"type": "unread", "counts": {str(inbox.pk): 0}, "window": 1000}
    assert await asyncio.to_thread(deliver_many, smtp_server, inbox, 60) == 60
    frames = []
    while not frames or frames[-1]["counts"][str(inbox.pk)] < 60:
        frames.append(await receive(comm))
    assert frames[-1] == {"type": "unread", "counts": {str(inbox.pk): 60}, "window": 1000}
    # Far fewer counts than messages: a query per burst, not per message.
    assert len(frames) < 30, len(frames)
    # A message counted before its event arrived may be counted once more: never to another number.
    late = []
    while not await comm.receive_nothing(timeout=0.5):
        late.append(await receive(comm))
    assert len(late) <= 1 and all(frame["counts"] == {str(inbox.pk): 60} for frame in late), late
    await comm.disconnect()
