"""Webhooks against a loopback HTTP receiver that checks signatures, fails on purpose, and recovers."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.mail import EmailMessage
from django.test import Client

from api.serializers import MessageSummarySerializer
from inboxes.models import Message
from tests.conftest import smtp_backend, store_message
from webhooks import deliveries
from webhooks import worker as worker_module
from webhooks.models import Delivery, Webhook
from webhooks.signing import verify

pytestmark = pytest.mark.django_db(transaction=True)


class Receiver:
    """An HTTP endpoint on 127.0.0.1: records each request and whether its signature verifies.

    `answers` is a list of statuses (or "hang", "redirect") used in turn; then 200.
    """

    def __init__(self, secret=""):
        self.secret = secret
        self.requests: list[dict] = []
        self.answers: list = []
        self.release = threading.Event()
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                answer = receiver.answers.pop(0) if receiver.answers else 200
                request = {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body,
                    "json": json.loads(body),
                    "verified": verify(
                        receiver.secret, self.headers["Maildog-Timestamp"], body, self.headers["Maildog-Signature"]
                    ),
                }
                with receiver.arrived:
                    receiver.requests.append(request)
                    receiver.arrived.notify_all()
                if answer == "hang":
                    receiver.release.wait(10)
                    answer = 200
                if answer == "redirect":
                    self.send_response(302)
                    self.send_header("Location", "/elsewhere")
                    self.end_headers()
                    return
                payload = b"ok" if answer == 200 else b"nope " * 500
                self.send_response(answer)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count, timeout=15.0):
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"{len(self.requests)} requests arrived, {count} expected"
                self.arrived.wait(remaining)
        return self.requests[:count]

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def webhook(inbox, receiver):
    hook = Webhook.objects.create(inbox=inbox, url=receiver.url, events=["message.new"])
    receiver.secret = hook.secret
    return hook


@pytest.fixture
def quick_retries(settings):
    settings.MAILDOG_WEBHOOK_RETRY_FIRST = 0.1
    settings.MAILDOG_WEBHOOK_TIMEOUT = 2
    settings.MAILDOG_AUTH_CHECKS = False


def send(smtp_server, inbox, subject="Hello"):
    return EmailMessage(
        subject, "Body", "app@example.com", ["ann@example.com"], connection=smtp_backend(smtp_server, inbox)
    ).send()


def wait_until(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_a_new_message_is_posted_signed_with_the_api_summary(smtp_server, inbox, webhook, receiver, quick_retries):
    send(smtp_server, inbox, "Signed")
    [request] = receiver.wait_for(1)
    message = Message.objects.get()
    assert request["verified"]
    assert request["headers"]["Maildog-Event"] == "message.new"
    assert request["headers"]["Content-Type"] == "application/json"
    body = request["json"]
    assert body["event"] == "message.new" and body["inbox_id"] == inbox.pk
    expected = MessageSummarySerializer(message).data
    assert {key: body["message"][key] for key in expected if key != "url"} == {
        key: value for key, value in expected.items() if key != "url"
    }
    assert body["message"]["url"].endswith(f"/api/v1/inboxes/{inbox.pk}/messages/{message.pk}/")
    wait_until(lambda: Delivery.objects.filter(state="delivered").exists())
    delivery = Delivery.objects.get()
    assert (delivery.attempts, delivery.status_code, delivery.response_excerpt) == (1, 200, "ok")


def test_finished_checks_are_posted_with_the_verdict(smtp_server, inbox, receiver, quick_retries, settings):
    settings.MAILDOG_AUTH_CHECKS = True
    hook = Webhook.objects.create(inbox=inbox, url=receiver.url, events=["message.checked"])
    receiver.secret = hook.secret
    send(smtp_server, inbox)
    [request] = receiver.wait_for(1)
    message = Message.objects.get()
    assert request["verified"] and request["json"]["event"] == "message.checked"
    assert request["json"]["message"]["id"] == message.pk
    assert request["json"]["message"]["auth_verdict"] == message.deliverability_verdict != ""


def test_a_rerun_of_the_checks_is_posted_too(inbox, receiver):
    """The re-run button (web process) queues the event; the SMTP process's worker sends it."""
    from deliverability.service import check_message

    Webhook.objects.create(inbox=inbox, url=receiver.url, events=["message.checked"])
    message = store_message(inbox, b"Subject: Again\r\n\r\nHi\r\n")
    check_message(message.pk, fresh=True)
    delivery = Delivery.objects.get()
    assert (delivery.event, delivery.message_id, delivery.state) == ("message.checked", message.pk, "pending")
    assert json.loads(delivery.body)["message"]["auth_verdict"] != ""


def test_a_tampered_body_or_another_secret_does_not_verify(webhook):
    body = b'{"event":"test"}'
    from webhooks.signing import signature

    header = signature(webhook.secret, 1700000000, body)
    assert verify(webhook.secret, "1700000000", body, header)
    assert not verify(webhook.secret, "1700000000", body + b" ", header)
    assert not verify(webhook.secret, "1700000001", body, header)
    assert not verify("whsec_other", "1700000000", body, header)


def test_the_250_never_waits_for_the_webhook(smtp_server, inbox, webhook, receiver, quick_retries):
    receiver.answers = ["hang"]
    assert send(smtp_server, inbox) == 1  # answered while the receiver still holds the request
    receiver.wait_for(1)
    assert not receiver.release.is_set()
    receiver.release.set()
    wait_until(lambda: Delivery.objects.filter(state="delivered").exists())


def test_failures_are_retried_with_backoff_until_the_receiver_recovers(
    smtp_server, inbox, webhook, receiver, quick_retries
):
    receiver.answers = [500, 503]
    send(smtp_server, inbox)
    requests = receiver.wait_for(3)
    assert all(request["verified"] for request in requests)
    assert len({request["headers"]["Maildog-Delivery"] for request in requests}) == 1
    wait_until(lambda: Delivery.objects.filter(state="delivered").exists())
    delivery = Delivery.objects.get()
    assert delivery.attempts == 3 and delivery.status_code == 200
    webhook.refresh_from_db()
    assert webhook.enabled and webhook.consecutive_failures == 0


def test_a_webhook_that_keeps_failing_is_disabled_and_the_team_is_told(
    smtp_server, inbox, webhook, receiver, quick_retries, settings, member_client
):
    settings.MAILDOG_WEBHOOK_ATTEMPTS = 2
    settings.MAILDOG_WEBHOOK_DISABLE_AFTER = 3
    receiver.answers = [500] * 10
    send(smtp_server, inbox, "one")
    wait_until(lambda: Delivery.objects.filter(state="failed").count() == 1)
    send(smtp_server, inbox, "two")
    wait_until(lambda: not Webhook.objects.get().enabled)
    webhook.refresh_from_db()
    assert webhook.disabled_reason == "Disabled after 3 failed delivery attempts in a row (last: HTTP 500)."
    assert len(receiver.requests) == 3
    assert set(Delivery.objects.values_list("state", flat=True)) == {"failed"}
    assert Delivery.objects.get(state="failed", attempts=2).response_excerpt == ("nope " * 500)[:1024]
    page = member_client.get(f"/inboxes/{inbox.pk}/").content.decode()
    assert "Disabled after 3 failed delivery attempts in a row" in page
    # Mail still arrives while the webhook is off, and nothing is sent for it.
    send(smtp_server, inbox, "three")
    time.sleep(0.5)
    assert len(receiver.requests) == 3
    # Enabled again from the page: the count starts over and new mail is delivered.
    assert member_client.post(f"/inboxes/{inbox.pk}/webhooks/{webhook.pk}/enable/").status_code == 302
    receiver.answers = []
    send(smtp_server, inbox, "four")
    receiver.wait_for(4)
    wait_until(lambda: Delivery.objects.filter(state="delivered").count() == 1)


def test_redirects_are_not_followed_and_slow_receivers_time_out(inbox, receiver, settings):
    settings.MAILDOG_WEBHOOK_TIMEOUT = 0.5
    hook = Webhook.objects.create(inbox=inbox, url=receiver.url)
    receiver.secret = hook.secret
    receiver.answers = ["redirect", "hang"]
    first = deliveries.deliver(deliveries.queue_test(hook))
    assert (first.state, first.status_code, first.error) == ("failed", 302, "redirect not followed")
    second = deliveries.deliver(deliveries.queue_test(hook))
    assert second.status_code is None and second.error == "timed out after 0.5 s"
    assert [request["path"] for request in receiver.requests] == ["/hook", "/hook"]


def test_link_local_addresses_are_refused(inbox):
    hook = Webhook.objects.create(inbox=inbox, url="http://169.254.169.254/latest/meta-data/")
    delivery = deliveries.deliver(deliveries.queue_test(hook))
    assert delivery.state == "failed"
    assert "169.254.169.254" in delivery.error and "may not reach" in delivery.error


def test_pending_deliveries_survive_a_restart(request, inbox, webhook, receiver):
    message = store_message(inbox, b"Subject: Before the restart\r\n\r\nHi\r\n")
    deliveries.queue_events([("message.new", message.pk, inbox.pk)])  # queued by a process that then stopped
    assert not receiver.requests
    request.getfixturevalue("smtp_server")  # the next SMTP process sends what is pending
    [request] = receiver.wait_for(1)
    assert request["json"]["message"]["subject"] == "Before the restart"


def test_the_page_adds_a_webhook_and_sends_a_test_event(member_client, outsider, inbox, receiver):
    response = member_client.post(
        f"/inboxes/{inbox.pk}/webhooks/new/", {"url": receiver.url, "events": ["message.new", "message.checked"]}
    )
    assert response.status_code == 302
    hook = Webhook.objects.get()
    receiver.secret = hook.secret
    assert hook.events == ["message.new", "message.checked"]
    assert member_client.post(f"/inboxes/{inbox.pk}/webhooks/{hook.pk}/test/").status_code == 302
    [request] = receiver.requests
    assert request["verified"] and request["json"]["event"] == "test" and request["json"]["message"] is None
    page = member_client.get(f"/inboxes/{inbox.pk}/webhooks/{hook.pk}/").content.decode()
    assert "HTTP 200" in page and hook.secret in page
    refused = member_client.post(
        f"/inboxes/{inbox.pk}/webhooks/new/", {"url": "ftp://example.com/", "events": ["message.new"]}
    )
    assert refused.status_code == 400
    stranger = Client()
    stranger.force_login(outsider)
    assert stranger.get(f"/inboxes/{inbox.pk}/webhooks/{hook.pk}/").status_code == 404
    assert stranger.post(f"/inboxes/{inbox.pk}/webhooks/{hook.pk}/test/").status_code == 404
    assert len(receiver.requests) == 1


def test_the_api_manages_webhooks(client, member, outsider, inbox, api_key, receiver):
    def call(method, path, key, **data):
        return getattr(client, method)(
            path, data=data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
        )

    base = f"/api/v1/inboxes/{inbox.pk}/webhooks/"
    created = call("post", base, api_key(member), url=receiver.url, events=["message.checked"])
    assert created.status_code == 201, created.json()
    hook = created.json()
    receiver.secret = hook["secret"]
    assert hook["events"] == ["message.checked"] and hook["enabled"]
    tested = call("post", f"{base}{hook['id']}/test/", api_key(member))
    assert tested.json()["state"] == "delivered" and receiver.requests[0]["verified"]
    assert call("get", f"{base}{hook['id']}/deliveries/", api_key(member)).json()[0]["status_code"] == 200
    assert call("post", base, api_key(member, inbox), url=receiver.url).status_code == 403  # inbox tokens read
    assert call("get", base, api_key(outsider)).status_code == 404
    assert call("patch", f"{base}{hook['id']}/", api_key(member), enabled=False).json()["enabled"] is False
    assert call("delete", f"{base}{hook['id']}/", api_key(member)).status_code == 204


def test_a_flood_of_events_is_queued_in_rounds_not_one_by_one(monkeypatch):
    """The first event after a quiet spell is queued at once; those within ROUND_INTERVAL after it share one round."""
    rounds = []
    monkeypatch.setattr(deliveries, "queue_events", lambda events: rounds.append([m for _, m, _ in events]) or 0)
    monkeypatch.setattr(deliveries, "claim_due", lambda limit, hold: [])
    monkeypatch.setattr(deliveries, "seconds_until_next_due", lambda: None)
    monkeypatch.setattr(worker_module, "ROUND_INTERVAL", 2.0)
    running = worker_module.WebhookWorker().start()
    try:
        running.notify("message.new", [(1, 7)])
        wait_until(lambda: rounds == [[1]])
        for message_id in (2, 3, 4):
            running.notify("message.new", [(message_id, 7)])
            time.sleep(0.02)  # room for the worker to run a round per event, were it to
        wait_until(lambda: sum(map(len, rounds)) == 4)
    finally:
        running.stop(5)
    assert rounds == [[1], [2, 3, 4]]
