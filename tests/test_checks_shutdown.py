"""runsmtp stops within MAILDOG_SHUTDOWN_GRACE on SIGTERM while DNS never answers.

A real `manage.py runsmtp` process against the test database, thousands of
messages waiting for their SPF/DKIM/DMARC checks, and a nameserver on
loopback that reads every query and never answers. Mail sent just before the
SIGTERM is acknowledged with 250 and must still be there afterwards; checks
not done are left for the next start.
"""

import re
import signal
import smtplib
import socket
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from inboxes.models import Message

from .processes import database_url, env_on_test_database, free_port, manage

GRACE = 10
DNS_TIMEOUT = 3
QUEUED = 3_000

# The process marker comes from `maildog_processes`; mail goes to it over SMTP.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.smtp]


@pytest.fixture
def silent_nameserver():
    """A UDP "nameserver" on loopback that reads every query and drops it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()
    queries = []

    def drop():
        while not stop.is_set():
            try:
                queries.append(sock.recvfrom(4096)[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=drop, daemon=True)
    thread.start()
    yield sock.getsockname(), queries
    stop.set()
    thread.join(2)
    sock.close()


@pytest.fixture
def tls_files(test_ca, tmp_path):
    certificate = test_ca.issue_cert("localhost", "127.0.0.1")
    certificate.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    certificate.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    return tmp_path / "cert.pem", tmp_path / "key.pem"


def queue_unchecked_messages(inbox, count):
    now = timezone.now()
    raw = b"From: app@example.com\r\nSubject: waiting\r\n\r\nhi\r\n"
    Message.objects.bulk_create(
        [
            Message(
                inbox=inbox,
                seq=n,
                received_at=now,
                envelope_from="app@example.com",
                subject="waiting",
                from_header="app@example.com",
                client_ip="127.0.0.1",
                helo="app.example.com",
                size=len(raw),
                raw=raw,
            )
            for n in range(1, count + 1)
        ],
        batch_size=500,
    )
    inbox.last_seq = count
    inbox.save(update_fields=["last_seq"])


def test_sigterm_with_dns_unreachable_exits_within_the_grace_and_keeps_acknowledged_mail(
    maildog_processes, inbox, silent_nameserver, tls_files, client_tls_context
):
    (dns_host, dns_port), queries = silent_nameserver
    queue_unchecked_messages(inbox, QUEUED)
    port = free_port()
    cert, key = tls_files
    env = env_on_test_database(
        database_url(connection.settings_dict),
        MAILDOG_TLS_CERT=cert,
        MAILDOG_TLS_KEY=key,
        MAILDOG_SMTP_HOSTNAME="localhost",
        MAILDOG_SMTP_BIND="127.0.0.1",
        MAILDOG_SMTP_PORTS=f"{port}:starttls",
        MAILDOG_SHUTDOWN_GRACE=GRACE,
        MAILDOG_DNS_NAMESERVERS=f"{dns_host}:{dns_port}",
        MAILDOG_DNS_TIMEOUT=DNS_TIMEOUT,
        MAILDOG_AUTH_CHECKS=1,
    )
    process = maildog_processes.start("runsmtp", manage("runsmtp"), env)
    process.wait_port(port)
    acknowledged = []
    with smtplib.SMTP("localhost", port, timeout=30) as client:
        client.starttls(context=client_tls_context)
        client.login(inbox.smtp_username, inbox.smtp_password)
        for n in range(20):
            client.mail("app@example.com")
            client.rcpt("user@example.com")
            code, reply = client.data(f"Subject: acknowledged {n}\r\n\r\nhi\r\n".encode())
            assert code == 250, reply
            acknowledged.append(int(re.search(rb"id=(\d+)", reply).group(1)))
    # The checks are busy with the silent nameserver.
    deadline = time.monotonic() + 10
    while not queries and time.monotonic() < deadline:
        time.sleep(0.05)
    assert queries, "the checks never asked the nameserver"

    process.popen.send_signal(signal.SIGTERM)
    sent_at = time.monotonic()
    returncode = process.popen.wait(GRACE + 60)
    took = time.monotonic() - sent_at
    output = process.output()
    print(
        f"runsmtp stopped {took:.1f}s after SIGTERM (grace {GRACE}s, DNS timeout {DNS_TIMEOUT}s, "
        f"{QUEUED} checks queued, {len(queries)} DNS queries unanswered)"
    )
    assert returncode == 0, output
    assert took < GRACE, f"runsmtp took {took:.1f}s to stop (grace {GRACE}s):\n{output}"
    assert "auth checks left for the next start" in output
    assert "Traceback" not in output

    # Every acknowledged message is kept; the unfinished checks wait for the next start.
    assert Message.objects.count() == QUEUED + len(acknowledged)
    assert set(Message.objects.filter(pk__in=acknowledged).values_list("pk", flat=True)) == set(acknowledged)
    unchecked = Message.objects.filter(deliverability_checked_at__isnull=True).count()
    assert unchecked > QUEUED - 100
