"""Prometheus metrics, scraped and parsed with prometheus_client's parser after known traffic."""

import re
import smtplib
import time
import urllib.request

import pytest
from django.core.mail import EmailMessage, get_connection
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from faults.models import FaultRule
from inboxes.models import Message
from tests.conftest import database_url, smtp_backend
from tests.smtp_process import start_runsmtp
from webhooks import deliveries
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "metrics-token-for-tests-0123456789"


def samples(text: str) -> dict[tuple, float]:
    """Every sample as {(name, frozenset(labels)): value}."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(scraped: dict, name: str, **labels) -> float:
    return scraped.get((name, frozenset((key, str(val)) for key, val in labels.items())), 0.0)


@pytest.fixture
def scrape(client, settings):
    settings.MAILDOG_METRICS_TOKEN = TOKEN

    def get():
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", HTTP_HOST="10.1.2.3:8000")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=")
        return samples(response.content.decode())

    return get


def test_the_endpoint_needs_the_token_and_is_off_without_one(client, settings):
    settings.MAILDOG_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404
    settings.MAILDOG_METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code != 200


def send(smtp_server, inbox, to="ann@example.com"):
    return EmailMessage("Counted", "Body", "app@example.com", [to], connection=smtp_backend(smtp_server, inbox)).send()


def wait_for(scrape, condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        scraped = scrape()
        if condition(scraped) or time.monotonic() > deadline:
            return scraped
        time.sleep(0.05)


def test_smtp_traffic_is_counted_exactly(smtp_server, inbox, scrape, settings):
    settings.MAILDOG_AUTH_CHECKS = False
    before = scrape()
    FaultRule.objects.create(
        inbox=inbox, name="no-bob", stage="rcpt", reply="550 5.1.1 No such user", match_rcpt="bob@*"
    )
    send(smtp_server, inbox)
    send(smtp_server, inbox)
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(smtp_server, inbox, to="bob@example.com")
    stored = "maildog_smtp_sessions_total"

    def delta(scraped, name, **labels):
        return value(scraped, name, **labels) - value(before, name, **labels)

    after = wait_for(
        scrape, lambda s: delta(s, stored, outcome="stored") >= 2 and delta(s, stored, outcome="refused") >= 1
    )
    assert delta(after, stored, outcome="stored") == 2
    assert delta(after, stored, outcome="refused") == 1
    assert delta(after, "maildog_messages_stored_total") == 2
    assert delta(after, "maildog_message_bytes_total") == sum(Message.objects.values_list("size", flat=True))
    assert delta(after, "maildog_smtp_refusals_total", code="550", reason="fault_rule") == 1
    assert delta(after, "maildog_faults_injected_total", stage="rcpt", effect="refused") == 1
    assert delta(after, "maildog_storage_seconds_count") == 2
    assert delta(after, "maildog_group_commit_messages_sum") == 2


def test_refusals_by_the_listener_have_their_reason(smtp_server, inbox, scrape, settings):
    settings.MAILDOG_MAX_RECIPIENTS = 1
    before = scrape()
    backend = smtp_backend(smtp_server, inbox)
    # The second recipient is refused (452); the message goes to the first.
    EmailMessage("Two", "Body", "app@example.com", ["a@example.com", "b@example.com"], connection=backend).send()
    bad = get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host=smtp_server.host,
        port=smtp_server.starttls_port,
        username=inbox.smtp_username,
        password="wrong",
        use_tls=True,
        timeout=10,
    )
    with pytest.raises(smtplib.SMTPAuthenticationError):
        bad.open()
    after = scrape()
    name = "maildog_smtp_refusals_total"
    assert (
        value(after, name, code="452", reason="too_many_recipients")
        - value(before, name, code="452", reason="too_many_recipients")
        == 1
    )
    # smtplib tries PLAIN, then LOGIN
    assert (
        value(after, name, code="535", reason="auth_failed") - value(before, name, code="535", reason="auth_failed")
        == 2
    )


def test_checks_and_webhooks_and_websockets_are_counted(smtp_server, inbox, scrape, member, settings):
    settings.MAILDOG_AUTH_CHECKS = True
    before = scrape()
    send(smtp_server, inbox)
    message = Message.objects.get()
    after = wait_for(
        scrape,
        lambda s: (
            value(s, "maildog_check_latency_seconds_count") > value(before, "maildog_check_latency_seconds_count")
        ),
    )
    assert (
        value(after, "maildog_check_latency_seconds_count") - value(before, "maildog_check_latency_seconds_count") == 1
    )
    message.refresh_from_db()
    assert message.deliverability_checked_at is not None
    assert value(after, "maildog_check_queue_length") == 0

    hook = Webhook.objects.create(inbox=inbox, url="http://169.254.169.254/")
    deliveries.deliver(deliveries.queue_test(hook))
    after_hook = scrape()
    gave_up = "maildog_webhook_deliveries_total"
    assert value(after_hook, gave_up, outcome="gave_up") - value(after, gave_up, outcome="gave_up") == 1


async def test_open_websockets_are_a_gauge(inbox, member, scrape):
    from asgiref.sync import sync_to_async
    from django.db import connections

    from tests.test_websocket_live import connect_as

    async def gauge():
        return value(await sync_to_async(scrape)(), "maildog_websocket_connections")

    start = await gauge()
    communicator, connected, _ = await connect_as(f"/ws/inboxes/{inbox.pk}/", member)
    assert connected
    assert await gauge() == start + 1
    await communicator.disconnect()
    assert await gauge() == start
    # The consumer's queries ran in asgiref's thread: its connection closes there.
    await sync_to_async(connections.close_all)()


@pytest.fixture(scope="module")
def server_files(test_ca, tmp_path_factory):
    directory = tmp_path_factory.mktemp("runsmtp-tls")
    issued = test_ca.issue_cert("localhost", "127.0.0.1")
    issued.cert_chain_pems[0].write_to_path(str(directory / "cert.pem"))
    issued.private_key_pem.write_to_path(str(directory / "key.pem"))
    return directory / "cert.pem", directory / "key.pem"


@pytest.mark.processes
@pytest.mark.smtp
def test_runsmtp_serves_its_metrics_on_its_own_address(server_files, trust_test_ca, inbox):
    process = start_runsmtp(
        database_url(connection.settings_dict),
        *server_files,
        memory_cap=1024 * 1024 * 1024,
        MAILDOG_METRICS_ADDR="127.0.0.1:0",
    )
    try:
        deadline = time.monotonic() + 20
        while not (found := re.search(r"Metrics on (http://127\.0\.0\.1:\d+/metrics)", process.output())):
            assert time.monotonic() < deadline, process.output()
            time.sleep(0.05)
        url = found.group(1)
        backend = get_connection(
            "django.core.mail.backends.smtp.EmailBackend",
            host="localhost",
            port=process.ports["starttls"],
            username=inbox.smtp_username,
            password=inbox.smtp_password,
            use_tls=True,
            timeout=30,
        )
        for n in range(3):
            EmailMessage(f"n{n}", "Body", "app@example.com", ["ann@example.com"], connection=backend).send()

        def scrape():
            with urllib.request.urlopen(url, timeout=10) as response:
                return samples(response.read().decode())

        deadline = time.monotonic() + 10
        while value(scraped := scrape(), "maildog_smtp_sessions_total", outcome="stored") < 3:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert value(scraped, "maildog_smtp_sessions_total", outcome="stored") == 3
        assert value(scraped, "maildog_messages_stored_total") == 3
        assert value(scraped, "maildog_message_bytes_total") == sum(Message.objects.values_list("size", flat=True))
        assert value(scraped, "maildog_storage_seconds_count") == 3
        assert value(scraped, "maildog_group_commit_messages_sum") == 3
    finally:
        process.kill()
