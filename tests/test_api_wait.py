"""The waiting endpoint: answers at once, wakes on a new-message event, or times out with 408."""

import asyncio
from dataclasses import dataclass

import pytest
from asgiref.sync import ThreadSensitiveContext
from channels.layers import get_channel_layer
from django.core.mail import EmailMessage
from django.test import AsyncClient, Client
from django.urls import reverse

from inboxes.ingest import SessionFacts
from inboxes.integration import STARTTLS, Listener
from smtpd.server import SMTPService

from .conftest import ingest, smtp_backend


def wait_url(inbox, **params):
    query = "&".join(f"{name}={value}" for name, value in params.items())
    return f"{reverse('api:message-wait', args=[inbox.pk])}?{query}"


def store(inbox, subject, to="alice@example.com", body="Hello"):
    raw = f"From: app@example.com\r\nTo: {to}\r\nSubject: {subject}\r\n\r\n{body}\r\n".encode()
    return ingest(inbox.pk, raw, SessionFacts(mail_from="app@example.com", rcpt_tos=[to]))


async def asgi_get(url, key):
    """GET through Django's ASGI handling, in a thread context of its own as daphne gives each request.

    (AsyncClient alone would run the sync middleware in the thread that the
    SMTP side's database calls also need, and the two would wait on each other.)
    """
    async with ThreadSensitiveContext():
        return await AsyncClient().get(url, headers={"Authorization": f"Bearer {key}"})


@dataclass
class LoopSMTP:
    service: SMTPService
    host: str = "localhost"

    @property
    def starttls_port(self):
        return self.service.port_for(STARTTLS)


@pytest.fixture
async def loop_smtp(transactional_db, server_tls_context, trust_test_ca):
    """Maildog's SMTP service on the test's own event loop, like the all-in-one server.

    The in-memory channel layer only reaches listeners on the loop the event is
    sent from; running SMTP here puts the waiting request and the delivery on one
    loop, as `manage.py serve` does. With Redis it makes no difference.
    """
    service = SMTPService(
        [Listener(0, STARTTLS)], bind="127.0.0.1", hostname="localhost", tls_context=server_tls_context
    )
    await service.start()
    yield LoopSMTP(service)
    await service.stop(1.0)


@pytest.fixture
def listening(monkeypatch):
    """Set once the waiting view blocks on the channel layer (its first receive())."""
    layer = get_channel_layer()
    event = asyncio.Event()
    receive = layer.receive

    async def receive_and_tell(channel):
        event.set()
        return await receive(channel)

    monkeypatch.setattr(layer, "receive", receive_and_tell)
    return event


async def test_message_arriving_while_waiting_wakes_the_request(loop_smtp, inbox, member, api_key, listening):
    key = await asyncio.to_thread(api_key, member, inbox)
    await asyncio.to_thread(store, inbox, "Older message")  # must not match: it is not after after_seq=1
    request = asyncio.create_task(
        asgi_get(wait_url(inbox, to="carol@example.com", subject="reset", after_seq=1, timeout=60), key)
    )
    await asyncio.wait_for(listening.wait(), 10)
    assert not request.done()

    def send():
        EmailMessage(
            "Password reset",
            "Open https://app.example.com/reset/Mg/abc-123/ to choose a new password.",
            "noreply@app.example.com",
            ["carol@example.com"],
            connection=smtp_backend(loop_smtp, inbox),
        ).send()

    await asyncio.to_thread(send)
    response = await asyncio.wait_for(request, 10)
    assert response.status_code == 200
    body = response.json()
    assert body["subject"] == "Password reset"
    assert body["seq"] == 2
    assert body["envelope_to"] == ["carol@example.com"]
    assert {"href": "https://app.example.com/reset/Mg/abc-123/", "text": "", "source": "text"} in body["links"]


async def test_events_for_other_messages_do_not_end_the_wait(loop_smtp, inbox, owner, api_key, listening):
    key = await asyncio.to_thread(api_key, owner)
    request = asyncio.create_task(asgi_get(wait_url(inbox, subject="Welcome", timeout=60), key))
    await asyncio.wait_for(listening.wait(), 10)

    def send(subject):
        EmailMessage(
            subject, "Hi", "app@example.com", ["dave@example.com"], connection=smtp_backend(loop_smtp, inbox)
        ).send()

    listening.clear()
    await asyncio.to_thread(send, "Newsletter")
    # The non-matching message woke the view, which went back to waiting.
    await asyncio.wait_for(listening.wait(), 10)
    assert not request.done()
    await asyncio.to_thread(send, "Welcome aboard")
    response = await asyncio.wait_for(request, 10)
    assert response.status_code == 200
    assert response.json()["subject"] == "Welcome aboard"


def test_timeout_answers_408(transactional_db, inbox, member, api_key):
    store(inbox, "Something else")
    client = Client(headers={"Authorization": f"Bearer {api_key(member)}"})
    response = client.get(wait_url(inbox, subject="never sent", timeout=1))
    assert response.status_code == 408
    assert response.json() == {"detail": "No matching message arrived within 1 seconds."}


def test_timeout_leaves_the_group(transactional_db, inbox, member, api_key, monkeypatch):
    layer = get_channel_layer()
    joined, left = [], []
    group_add, group_discard = layer.group_add, layer.group_discard

    async def add(group, channel):
        joined.append((group, channel))
        await group_add(group, channel)

    async def discard(group, channel):
        left.append((group, channel))
        await group_discard(group, channel)

    monkeypatch.setattr(layer, "group_add", add)
    monkeypatch.setattr(layer, "group_discard", discard)
    client = Client(headers={"Authorization": f"Bearer {api_key(member)}"})
    assert client.get(wait_url(inbox, timeout=1)).status_code == 408
    assert joined == left == [(f"inbox-{inbox.pk}", joined[0][1])]


def test_existing_match_is_returned_at_once_without_joining(db, inbox, member, api_key, monkeypatch):
    first = store(inbox, "Your code is 481516")
    store(inbox, "Your code is 234234")

    async def must_not_join(group, channel):
        raise AssertionError("joined the group although a message matched")

    monkeypatch.setattr(get_channel_layer(), "group_add", must_not_join)
    client = Client(headers={"Authorization": f"Bearer {api_key(member)}"})
    response = client.get(wait_url(inbox, subject="your code", timeout=30))
    assert response.status_code == 200
    # The earliest match: a test reads messages in the order they came.
    assert response.json()["id"] == first.pk
    assert response.json()["text"] == "Hello\n"


def test_after_seq_and_received_after_skip_older_messages(db, inbox, member, api_key):
    first = store(inbox, "One")
    second = store(inbox, "Two")
    client = Client(headers={"Authorization": f"Bearer {api_key(member)}"})
    assert client.get(wait_url(inbox, after_seq=first.seq, timeout=0)).json()["id"] == second.pk
    assert client.get(wait_url(inbox, after=first.pk, timeout=0)).json()["id"] == second.pk
    after = first.received_at.isoformat().replace("+00:00", "Z")
    assert client.get(wait_url(inbox, received_after=after, timeout=0)).json()["id"] == second.pk
    assert client.get(wait_url(inbox, after_seq=second.seq, timeout=0)).status_code == 408


@pytest.mark.parametrize(
    "params, field",
    [
        ({"timeout": "soon"}, "timeout"),
        ({"timeout": "-1"}, "timeout"),
        ({"timeout": "nan"}, "timeout"),
        ({"after_seq": "x"}, "after_seq"),
        ({"received_after": "yesterday"}, "received_after"),
    ],
)
def test_malformed_parameters_answer_400(db, inbox, member, api_key, params, field):
    client = Client(headers={"Authorization": f"Bearer {api_key(member)}"})
    response = client.get(wait_url(inbox, **params))
    assert response.status_code == 400
    assert field in response.json()


def test_timeout_is_capped(db, inbox, member, api_key):
    from api.wait import MAX_TIMEOUT, _timeout

    assert _timeout("100000") == MAX_TIMEOUT
    assert _timeout(None) == 30.0


def test_wrong_method_answers_405(db, inbox, member, api_key):
    client = Client(headers={"Authorization": f"Bearer {api_key(member)}"})
    response = client.post(wait_url(inbox))
    assert response.status_code == 405
    assert response["Allow"] == "GET"
