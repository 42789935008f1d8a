"""A Redis outage: mail keeps flowing, websockets are refused cleanly, the outage is logged once each way.

Runs against a Redis server of its own (started on a free loopback port,
stopped and started again by the test), never a shared one.
"""

import asyncio
import logging
import shutil
import subprocess
import time

import pytest
import redis
from channels.testing import WebsocketCommunicator
from django.core.mail import send_mail

from inboxes.models import Message
from maildog_site.asgi import application
from maildog_site.channel_layers import redis_channel_layer

from .conftest import free_port, smtp_backend
from .test_websocket_live import connect_as, receive

pytestmark = pytest.mark.django_db(transaction=True)


class RedisServer:
    """redis-server on a free loopback port, without persistence; stop() and start() at will."""

    def __init__(self):
        self.port = free_port()
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        client.close()

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def redis_server(settings):
    # The checks' events would also go through Redis; this test is about the SMTP side and websockets.
    settings.MAILDOG_AUTH_CHECKS = False
    server = RedisServer()
    server.start()
    # The product's Redis layer configuration (as settings build it from REDIS_URL), on this server.
    settings.CHANNEL_LAYERS = {
        "default": redis_channel_layer(f"redis://127.0.0.1:{server.port}/0", "maildog-outage-test")
    }
    yield server
    server.stop()


def deliver(smtp_server, inbox, subject):
    sent = send_mail(
        subject, "Hello", "app@example.com", ["bob@example.com"], connection=smtp_backend(smtp_server, inbox)
    )
    assert sent == 1


async def closed_code(comm, timeout=10):
    """The close code the socket ends with (events sent before the close are skipped)."""
    while True:
        output = await comm.receive_output(timeout)
        if output["type"] != "websocket.send":
            assert output["type"] == "websocket.close", output
            return output["code"]


async def test_redis_outage_refuses_websockets_cleanly_and_mail_keeps_flowing(
    redis_server, smtp_server, inbox, member, caplog
):
    caplog.set_level(logging.WARNING, logger="maildog.events")
    caplog.set_level(logging.WARNING, logger="maildog.smtp")

    # Redis up: live updates work.
    comm, connected, _ = await connect_as(f"/ws/inboxes/{inbox.pk}/", member)
    assert connected
    await asyncio.to_thread(deliver, smtp_server, inbox, "before")
    assert (await receive(comm))["message"]["subject"] == "before"

    redis_server.stop()
    # The open socket is closed with "try again later", not torn down by an error.
    assert await closed_code(comm) == 1013

    # During the outage: handshakes are closed with 1013, mail is stored (250) all along.
    for n in range(5):
        await asyncio.to_thread(deliver, smtp_server, inbox, f"during {n}")
    for path in (f"/ws/inboxes/{inbox.pk}/", "/ws/unread/"):
        comm, connected, _ = await connect_as(path, member)
        if connected:
            assert await closed_code(comm) == 1013
    assert await Message.objects.filter(subject__startswith="during").acount() == 5

    redis_server.start()
    # The first handshake after Redis is back succeeds and gets events.
    comm, connected, _ = await connect_as(f"/ws/inboxes/{inbox.pk}/", member)
    assert connected
    await asyncio.to_thread(deliver, smtp_server, inbox, "after")
    assert (await receive(comm))["message"]["subject"] == "after"
    await comm.disconnect()

    # The outage is logged once when it starts and once when it ends; no traceback per message.
    outage = [r for r in caplog.records if "channel layer unreachable" in r.getMessage()]
    recovery = [r for r in caplog.records if "channel layer reachable again" in r.getMessage()]
    assert len(outage) == 1 and len(recovery) == 1
    assert not [r for r in caplog.records if r.exc_info]
    assert "live event failed" not in caplog.text


async def test_anonymous_handshake_during_an_outage_is_still_refused_as_forbidden(redis_server, inbox):
    redis_server.stop()
    comm = WebsocketCommunicator(application, f"/ws/inboxes/{inbox.pk}/", headers=[(b"origin", b"http://localhost")])
    connected, code = await comm.connect()
    assert (connected, code) in ((False, 4403), (True, None))
    if connected:
        assert await closed_code(comm) == 1013
