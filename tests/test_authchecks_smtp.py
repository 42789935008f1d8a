"""End to end: Django's SMTP backend, a DKIM-signing step, Maildog's listener, the stored verdict."""

import asyncio
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.mail import EmailMessage

from inboxes.events import inbox_group
from inboxes.models import Message
from tests.authzones import DKIMSigningBackend


def backend(smtp_server, inbox, key, domain):
    return DKIMSigningBackend(
        host=smtp_server.host,
        port=smtp_server.starttls_port,
        username=inbox.smtp_username,
        password=inbox.smtp_password,
        use_tls=True,
        timeout=10,
        dkim_key=key,
        dkim_domain=domain,
    )


def checked_message(inbox, timeout=15.0) -> Message:
    """The inbox's message once its checks have been saved (bounded wait, polling the database)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = Message.objects.filter(inbox=inbox).exclude(deliverability_verdict="").first()
        if message is not None:
            return message
        time.sleep(0.05)
    raise AssertionError("the checks did not finish in time")


def send(connection, from_email, header_from=None):
    headers = {"From": header_from} if header_from else {}
    EmailMessage(
        "Your receipt",
        "Thanks for your order.",
        from_email,
        ["customer@example.net"],
        connection=connection,
        headers=headers,
    ).send()


def test_signed_mail_from_an_authorised_client_would_pass(smtp_server, inbox, auth_zones):
    # shop.test's SPF authorises 127.0.0.1, the test client's address.
    send(backend(smtp_server, inbox, auth_zones["rsa"], "shop.test"), "Shop <orders@shop.test>")

    message = checked_message(inbox)

    assert message.client_ip == "127.0.0.1"
    assert message.deliverability_verdict == "pass"
    results = message.deliverability_results
    assert [(s["domain"], s["result"]) for s in results["dkim"]] == [("shop.test", "pass")]
    assert results["spf"]["result"] == "pass"
    assert results["dmarc"]["result"] == "pass"
    assert "dkim=pass header.d=shop.test header.s=rsa" in results["authentication_results"]


def test_mail_signed_by_another_domain_would_be_rejected(smtp_server, inbox, auth_zones):
    # An email service signs as itself and bounces to itself, From says shop.test.
    send(backend(smtp_server, inbox, auth_zones["ed"], "vendor.test"), "bounce@vendor.test", "orders@shop.test")

    message = checked_message(inbox)

    assert message.envelope_from == "bounce@vendor.test"
    assert message.deliverability_verdict == "fail"
    results = message.deliverability_results
    assert [(s["domain"], s["algorithm"], s["result"]) for s in results["dkim"]] == [
        ("vendor.test", "ed25519-sha256", "pass")
    ]
    assert results["dmarc"]["disposition"] == "reject"


def test_dns_down_still_stores_and_says_temperror(smtp_server, inbox, auth_zones, settings, unused_udp_port):
    settings.MAILDOG_DNS_NAMESERVERS = [f"127.0.0.1:{unused_udp_port}"]
    settings.MAILDOG_DNS_TIMEOUT = 1.0  # a refused nameserver costs the whole timeout

    send(backend(smtp_server, inbox, auth_zones["rsa"], "shop.test"), "orders@shop.test")

    message = checked_message(inbox)
    assert message.subject == "Your receipt"
    assert message.deliverability_verdict == "temperror"


def test_verdict_is_pushed_to_the_inbox_group(smtp_server, inbox, auth_zones):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(inbox_group(inbox.pk), channel)

    send(backend(smtp_server, inbox, auth_zones["rsa"], "shop.test"), "orders@shop.test")
    message = checked_message(inbox)

    async def next_event(kind):
        while True:
            event = await asyncio.wait_for(layer.receive(channel), 5)
            if event["type"] == kind:
                return event

    # One event per batch of checks (the page's consumer passes each on as `message.checked`).
    event = async_to_sync(next_event)("messages.checked")
    [checked] = event["checked"]
    report = checked.pop("report")  # the message report, made in the same step (the reports app)
    assert checked == {"type": "message.checked", "message_id": message.pk, "verdict": "pass"}
    assert report["status"] == "complete"
