"""250 only after the commit: storage failures give 451, retries succeed, load loses nothing."""

import smtplib
import threading
from email.message import EmailMessage

import pytest
from django.db import connection

from inboxes.models import Inbox, Message

from .conftest import set_failing_writes

MESSAGE = b"From: app@example.com\r\nTo: a@example.com\r\nSubject: Retry me\r\n\r\nBody\r\n"


def _set_failing_insert(enabled: bool):
    set_failing_writes("INSERT", "could not extend file: No space left on device", enabled)


def test_storage_failure_is_451_and_the_retry_is_stored_once(smtp_server, inbox, client_tls_context):
    client = smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10)
    client.starttls(context=client_tls_context)
    client.login(inbox.smtp_username, inbox.smtp_password)

    _set_failing_insert(True)
    try:
        client.mail("app@example.com")
        client.rcpt("a@example.com")
        code, reply = client.data(MESSAGE)
    finally:
        _set_failing_insert(False)
    assert code == 451
    assert reply.startswith(b"4.3.0")
    assert not Message.objects.exists()
    inbox.refresh_from_db()
    assert inbox.last_seq == 0, "the failed transaction left nothing behind"

    # The server keeps serving: the retry on the same connection is stored.
    assert client.sendmail("app@example.com", ["a@example.com"], MESSAGE) == {}
    client.quit()
    message = Message.objects.defer(None).get()
    assert bytes(message.raw) == MESSAGE
    assert message.seq == 1


def test_250_reply_names_the_committed_message(smtp_server, inbox, client_tls_context):
    client = smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10)
    client.starttls(context=client_tls_context)
    client.login(inbox.smtp_username, inbox.smtp_password)
    client.mail("app@example.com")
    client.rcpt("a@example.com")
    code, reply = client.data(MESSAGE)
    client.quit()
    assert code == 250
    message_id = int(reply.decode().rsplit("id=", 1)[1])
    # Visible from another connection the moment 250 was said: it was committed.
    assert Message.objects.filter(pk=message_id, inbox=inbox).exists()


def test_concurrent_clients_every_message_stored_once_in_its_inbox(smtp_server, team, client_tls_context):
    inboxes = [Inbox.objects.create(team=team, name=f"Inbox {n}") for n in range(4)]
    clients, per_client = 20, 50
    errors = []

    def send_all(client_no):
        inbox = inboxes[client_no % len(inboxes)]
        try:
            with smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=60) as client:
                client.starttls(context=client_tls_context)
                client.login(inbox.smtp_username, inbox.smtp_password)
                for n in range(per_client):
                    message = EmailMessage()
                    message["From"] = "load@example.com"
                    message["To"] = "sink@example.com"
                    message["Subject"] = f"client {client_no} message {n}"
                    message.set_content(f"payload {client_no}/{n}")
                    client.send_message(message)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=send_all, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []

    stored = list(Message.objects.values_list("inbox_id", "subject"))
    assert len(stored) == clients * per_client
    assert len(set(stored)) == clients * per_client, "no message stored twice"
    for inbox_id, subject in stored:
        client_no = int(subject.split()[1])
        assert inbox_id == inboxes[client_no % len(inboxes)].pk
    for inbox in inboxes:
        seqs = sorted(Message.objects.filter(inbox=inbox).values_list("seq", flat=True))
        assert seqs == list(range(1, len(seqs) + 1))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="only a database server can drop a connection")
def test_a_storing_connection_the_server_dropped_costs_at_most_one_451(smtp_server, inbox, client_tls_context):
    """The storing thread looks at its connection's health at most every second (a round trip each):
    a connection the server dropped meanwhile fails the message that finds it, with 451; the next is stored."""
    client = smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10)
    client.starttls(context=client_tls_context)
    client.login(inbox.smtp_username, inbox.smtp_password)
    assert client.sendmail("app@example.com", ["a@example.com"], MESSAGE) == {}  # the storing connection is open
    with connection.cursor() as cursor:  # as a restart of the server would: every other session of the database
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
    codes = []
    for _ in range(3):
        client.mail("app@example.com")
        client.rcpt("a@example.com")
        codes.append(client.data(MESSAGE)[0])
    client.quit()
    assert codes in ([250, 250, 250], [451, 250, 250])
    assert Message.objects.filter(inbox=inbox).count() == 1 + codes.count(250)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write-ahead log")
def test_sqlite_log_is_checkpointed_beside_the_storing_not_by_it(smtp_server, inbox, client_tls_context):
    import time

    from smtpd import batching

    client = smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10)
    client.starttls(context=client_tls_context)
    client.login(inbox.smtp_username, inbox.smtp_password)
    assert client.sendmail("app@example.com", ["a@example.com"], MESSAGE) == {}
    client.quit()

    def autocheckpoint():
        with connection.cursor() as cursor:  # the storing thread's own connection
            cursor.execute("PRAGMA wal_autocheckpoint")
            return cursor.fetchone()[0]

    assert batching._storing_thread.submit(autocheckpoint).result(10) == 0
    checkpointer = smtp_server.service.handler.writer.checkpointer
    seen = checkpointer.checkpoints
    deadline = time.monotonic() + 15
    while checkpointer.checkpoints == seen:
        assert time.monotonic() < deadline, "no checkpoint"
        time.sleep(0.05)
    smtp_server.stop(grace=1.0)
    assert smtp_server.service.handler.writer.checkpointer is None  # stopped with the service
