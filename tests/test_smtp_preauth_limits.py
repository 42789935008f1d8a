"""Before login a session holds little and lasts briefly; idle ones cannot keep others out."""

import select
import smtplib
import socket
import threading
import time

import pytest
from django.core.mail import send_mail

from inboxes.models import Message
from tests.conftest import smtp_backend
from tests.smtp_process import open_idle_connections, wait_until

SOURCES = [f"127.0.0.{n}" for n in range(2, 14)]  # 12 client addresses


def read_reply(sock) -> bytes:
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_command_lines_are_limited_but_the_session_goes_on(smtp_server, settings):
    limit = settings.MAILDOG_SMTP_MAX_COMMAND_BYTES
    client = smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10)
    client.ehlo()
    assert client.docmd("NOOP", "x" * (limit + 10))[0] == 500
    # A long line without a line end is read and dropped in pieces, never held whole.
    client.send(b"NOOP " + b"y" * (20 * limit))
    client.send(b"\r\n")
    assert client.getreply()[0] == 500
    assert client.noop()[0] == 250
    client.close()


def test_an_auth_answer_longer_than_a_command_line_is_refused(smtp_server, inbox, client_tls_context, settings):
    client = smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10)
    client.starttls(context=client_tls_context)
    client.ehlo()
    assert client.docmd("AUTH LOGIN")[0] == 334
    code, reply = client.docmd("A" * (settings.MAILDOG_SMTP_MAX_COMMAND_BYTES * 3))
    assert code == 500 and reply.startswith(b"5.5.6")
    client.login(inbox.smtp_username, inbox.smtp_password)
    client.quit()


def test_message_lines_may_be_far_longer_than_a_command_line(smtp_server, inbox, client_tls_context, settings):
    long_line = b"<td>" * (settings.MAILDOG_SMTP_MAX_COMMAND_BYTES * 25)
    raw = b"Subject: long\r\n\r\n" + long_line + b"\r\n." + long_line + b"\r\n.\r\nend\r\n"
    client = smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10)
    client.starttls(context=client_tls_context)
    client.login(inbox.smtp_username, inbox.smtp_password)
    assert client.sendmail("app@example.com", ["a@example.com"], raw) == {}  # smtplib stuffs the dots
    client.quit()
    message = Message.objects.defer(None).get()
    assert bytes(message.raw) == raw
    assert message.has_long_lines


@pytest.fixture
def short_unauth_timeout(settings):
    settings.MAILDOG_SMTP_UNAUTH_TIMEOUT = 1
    settings.MAILDOG_SMTP_TIMEOUT = 60


def test_sessions_not_logged_in_time_out_sooner(short_unauth_timeout, smtp_server, inbox, client_tls_context):
    idle = socket.create_connection((smtp_server.host, smtp_server.starttls_port), timeout=10)
    assert read_reply(idle).startswith(b"220 ")
    assert read_reply(idle).startswith(b"421 4.4.2")
    assert idle.recv(1) == b""
    idle.close()
    # Logged in, the same idle time is fine.
    client = smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10)
    client.starttls(context=client_tls_context)
    client.login(inbox.smtp_username, inbox.smtp_password)
    client.sock.settimeout(2.5)
    with pytest.raises(socket.timeout):
        client.sock.recv(1)  # nothing from the server for longer than the unauthenticated timeout
    assert client.noop()[0] == 250
    client.quit()


@pytest.fixture
def default_session_limits(settings):
    settings.MAILDOG_MAX_SESSIONS = 1000
    settings.MAILDOG_MAX_SESSIONS_PER_CLIENT = 100


def test_a_thousand_idle_connections_from_twelve_addresses_do_not_keep_a_client_out(
    default_session_limits, smtp_server, inbox
):
    idle = open_idle_connections(smtp_server.starttls_port, 1000, SOURCES)
    assert wait_until(lambda: len(smtp_server.service.handler.sessions) == 1000, 10)
    # Full: the legitimate client takes the place of the oldest idle connection.
    assert (
        send_mail("Served", "Hi", "app@example.com", ["a@example.com"], connection=smtp_backend(smtp_server, inbox))
        == 1
    )
    assert Message.objects.get().subject == "Served"
    oldest = idle[0]
    oldest.settimeout(5)
    data = b""
    while chunk := oldest.recv(4096):
        data += chunk
    assert data.startswith(b"220 ") and b"\r\n421 4.4.2 " in data
    for sock in idle:
        sock.close()


def test_a_burst_of_connections_is_queued_while_the_server_is_busy(default_session_limits, smtp_server):
    """The listen queue holds a burst the size of the session limit until the server accepts it."""
    busy = threading.Event()
    # The event loop is busy (as with a burst of TLS handshakes) and accepts nothing for a while.
    smtp_server.loop.call_soon_threadsafe(lambda: (busy.set(), time.sleep(3)))
    busy.wait(5)
    conns, poller = {}, select.poll()
    for n in range(1000):
        sock = socket.socket()
        sock.bind((SOURCES[n % len(SOURCES)], 0))
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", smtp_server.starttls_port))
        conns[sock.fileno()] = sock
        poller.register(sock, select.POLLOUT)
    connected = set()
    deadline = time.monotonic() + 2
    while len(connected) < len(conns) and time.monotonic() < deadline:
        for fd, _ in poller.poll(100):
            poller.unregister(fd)
            if not conns[fd].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                connected.add(fd)
    assert len(connected) == 1000, "connections dropped by a full listen queue"
    # Once the server is free again, every one of them gets its banner.
    for sock in conns.values():
        sock.setblocking(True)
        sock.settimeout(30)
        assert sock.recv(4).startswith(b"220")
        sock.close()
