"""The checks in a process of their own: `runsmtp` stores, `runchecks` checks, nothing is lost.

As the Procfile runs them: `runsmtp` with MAILDOG_AUTH_CHECKS_PROCESS=1 and
`runchecks` beside it, as OS processes on the test database (SQLite or
PostgreSQL), mail sent over verified STARTTLS from concurrent sessions.
"""

import os
import re
import smtplib
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from deliverability import service
from deliverability.service import check_messages
from inboxes.models import Message

from .conftest import store_message
from .processes import database_url, env_on_test_database, free_port, manage, procfile

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.smtp]

SESSIONS = 6
PER_SESSION = 25


@pytest.fixture
def tls_files(test_ca, tmp_path):
    certificate = test_ca.issue_cert("localhost", "127.0.0.1")
    certificate.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    certificate.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    return tmp_path / "cert.pem", tmp_path / "key.pem"


@pytest.fixture
def processes_env(tls_files, loopback_dns_server):
    port = free_port()
    cert, key = tls_files
    env = env_on_test_database(
        database_url(connection.settings_dict),
        MAILDOG_TLS_CERT=cert,
        MAILDOG_TLS_KEY=key,
        MAILDOG_SMTP_HOSTNAME="localhost",
        MAILDOG_SMTP_BIND="127.0.0.1",
        MAILDOG_SMTP_PORTS=f"{port}:starttls",
        MAILDOG_MAX_SESSIONS_PER_CLIENT=50,
        MAILDOG_DNS_NAMESERVERS=loopback_dns_server.nameserver,
        MAILDOG_AUTH_CHECKS=1,
    )
    return env, port


def send_concurrently(port, inbox, context, sessions=SESSIONS, per_session=PER_SESSION) -> list[int]:
    """Messages from concurrent sessions; the ids of those answered 250."""

    def session(number):
        ids = []
        with smtplib.SMTP("localhost", port, timeout=30) as client:
            client.starttls(context=context)
            client.login(inbox.smtp_username, inbox.smtp_password)
            for n in range(per_session):
                client.mail("app@example.com")
                client.rcpt("user@example.com")
                code, reply = client.data(f"Subject: session {number} message {n}\r\n\r\nhi\r\n".encode())
                assert code == 250, reply
                ids.append(int(re.search(rb"id=(\d+)", reply).group(1)))
        return ids

    with ThreadPoolExecutor(sessions) as pool:
        return [message_id for ids in pool.map(session, range(sessions)) for message_id in ids]


def wait_until_checked(ids, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        unchecked = Message.objects.filter(pk__in=ids, deliverability_checked_at__isnull=True).count()
        if unchecked == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"{unchecked} of {len(ids)} messages still unchecked after {timeout}s")


def unindexed(ids) -> int:
    """PostgreSQL: how many of these messages still wait for their search words (inboxes.search.indexer)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM inboxes_message WHERE id = ANY(%s) AND search_vector IS NULL", [ids])
        return cursor.fetchone()[0]


def wait_until_indexed(ids, timeout=30.0):
    deadline = time.monotonic() + timeout
    while unindexed(ids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert unindexed(ids) == 0, f"{unindexed(ids)} of {len(ids)} messages still without search words"


def test_the_procfile_runs_the_checks_in_their_own_process():
    lines = procfile()
    assert "MAILDOG_AUTH_CHECKS_PROCESS=1" in lines["smtp"].split()
    assert lines["checks"] == "python manage.py runchecks"


def test_runchecks_checks_what_runsmtp_stored_and_resumes_after_a_restart(
    maildog_processes, inbox, processes_env, client_tls_context
):
    env, port = processes_env
    smtp = maildog_processes.start("runsmtp", "MAILDOG_AUTH_CHECKS_PROCESS=1 " + manage("runsmtp"), env)
    checks = maildog_processes.start("runchecks", manage("runchecks"), env)
    smtp.wait_port(port)
    checks.wait_output("Checks running")
    # Below the SMTP process's CPU priority: on busy cores the 250s go first, the checks catch up.
    assert os.getpriority(os.PRIO_PROCESS, checks.popen.pid) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
    assert os.getpriority(os.PRIO_PROCESS, smtp.popen.pid) == os.getpriority(os.PRIO_PROCESS, 0)

    acknowledged = send_concurrently(port, inbox, client_tls_context)
    # Every 250 is a stored message, each once, in the inbox's sequence.
    assert len(set(acknowledged)) == SESSIONS * PER_SESSION
    stored = Message.objects.filter(inbox=inbox)
    assert set(stored.values_list("pk", flat=True)) == set(acknowledged)
    assert sorted(stored.values_list("seq", flat=True)) == list(range(1, len(acknowledged) + 1))
    wait_until_checked(acknowledged)
    assert not Message.objects.filter(pk__in=acknowledged, deliverability_verdict="").exists()
    if connection.vendor == "postgresql":  # runchecks also writes the search words, after the 250
        wait_until_indexed(acknowledged)

    # While the checks process is down, mail is still taken; it is checked once the process is back.
    assert checks.stop() == 0
    assert "Checks stopped" in checks.output()
    later = send_concurrently(port, inbox, client_tls_context, sessions=2, per_session=10)
    time.sleep(0.5)
    assert Message.objects.filter(pk__in=later, deliverability_checked_at__isnull=True).count() == len(later)
    if connection.vendor == "postgresql":
        assert unindexed(later) == len(later)  # left to runchecks, and searchable meanwhile (test_search)
    restarted = maildog_processes.start("runchecks", manage("runchecks"), env)
    restarted.wait_output(r"Checks running \(20 messages left unchecked")
    wait_until_checked(later)
    if connection.vendor == "postgresql":
        wait_until_indexed(later)
    # The SMTP process did not check anything itself, and nothing failed on either side.
    assert "Traceback" not in smtp.output() + checks.output() + restarted.output()
    assert smtp.stop() == 0 and restarted.stop() == 0


def test_two_runsmtp_processes_share_the_port_with_reuse_port(
    maildog_processes, inbox, processes_env, client_tls_context
):
    env, port = processes_env
    command = "MAILDOG_AUTH_CHECKS_PROCESS=1 MAILDOG_SMTP_REUSE_PORT=1 " + manage("runsmtp")
    first = maildog_processes.start("runsmtp-1", command, env)
    first.wait_port(port)
    second = maildog_processes.start("runsmtp-2", command, env)
    second.wait_output("SMTP listening")  # the same port: the kernel spreads new connections between them

    acknowledged = send_concurrently(port, inbox, client_tls_context, sessions=24, per_session=5)
    assert len(set(acknowledged)) == 24 * 5
    stored = Message.objects.filter(inbox=inbox)
    assert set(stored.values_list("pk", flat=True)) == set(acknowledged)
    assert sorted(stored.values_list("seq", flat=True)) == list(range(1, len(acknowledged) + 1))
    if connection.vendor == "postgresql":  # without runchecks running here, nothing writes the search words
        assert unindexed(acknowledged) == len(acknowledged)
    assert first.stop() == 0 and second.stop() == 0
    # Both took sessions (each logs one line per session): 24 connections all on one side has odds of 2 ** -23.
    assert "smtp_session" in first.output() and "smtp_session" in second.output()


async def test_the_poller_finds_new_messages_and_those_committed_late(inbox, monkeypatch):
    """New ids above the cursor at once; an unchecked one below it (a late commit) at the next sweep."""
    import asyncio

    from asgiref.sync import sync_to_async

    from deliverability import poller

    monkeypatch.setattr(poller, "POLL_INTERVAL", 0.02)
    monkeypatch.setattr(poller, "SWEEP_INTERVAL", 0.5)
    first = await sync_to_async(store_message)(inbox, b"Subject: before\r\n\r\nx\r\n")
    queue = service.CheckQueue()
    reader = poller.CheckPoller(queue)
    stop = asyncio.Event()
    assert await reader.start(stop) == 1
    # Committed after a higher id was queued (another SMTP process's slower transaction):
    # only the sweep looks below the cursor.
    late = await sync_to_async(store_message)(inbox, b"Subject: late\r\n\r\nx\r\n")
    reader.cursor = late.pk
    task = asyncio.ensure_future(reader.run(stop))
    try:
        newest = await sync_to_async(store_message)(inbox, b"Subject: newest\r\n\r\nx\r\n")
        wanted = {first.pk, late.pk, newest.pk}
        for _ in range(200):
            if not await Message.objects.filter(pk__in=wanted, deliverability_checked_at__isnull=True).aexists():
                break
            await asyncio.sleep(0.05)
        unchecked = Message.objects.filter(pk__in=wanted, deliverability_checked_at__isnull=True)
        assert not await unchecked.aexists()
    finally:
        stop.set()
        await task
        await queue.close(5)


def test_saving_results_keeps_what_changed_meanwhile(inbox, monkeypatch):
    """The results are written in one statement per batch, and only the checks' fields."""
    messages = [store_message(inbox, f"Subject: {n}\r\n\r\nx\r\n".encode()) for n in range(5)]
    Message.objects.filter(inbox=inbox).update(deliverability_checked_at=None, deliverability_verdict="")
    real_check = service.check_one

    def check_and_meanwhile_read(message, raw, batch=None):
        # Someone opens the message while its checks run.
        Message.objects.filter(pk=message.pk).update(is_read=True)
        return real_check(message, raw, batch)

    monkeypatch.setattr(service, "check_one", check_and_meanwhile_read)
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        checked = check_messages([message.pk for message in messages])
    assert len(checked) == 5
    updates = [
        q["sql"] for q in queries.captured_queries if "UPDATE" in q["sql"] and "deliverability_verdict" in q["sql"]
    ]
    assert len(updates) == 1, updates
    for message in Message.objects.filter(inbox=inbox):
        assert message.is_read is True
        assert message.deliverability_checked_at is not None
        assert message.deliverability_verdict in ("pass", "fail", "none", "temperror", "error")
        assert message.deliverability_results["verdict"] == message.deliverability_verdict


def test_runchecks_sends_the_message_checked_webhook_itself(
    maildog_processes, inbox, processes_env, client_tls_context
):
    """The verdict's webhook leaves from the checks process: it arrives with the SMTP process stopped."""
    from webhooks.models import Webhook

    from .test_webhooks import Receiver

    receiver = Receiver()
    try:
        hook = Webhook.objects.create(inbox=inbox, url=receiver.url, events=["message.checked"])
        receiver.secret = hook.secret
        env, port = processes_env
        smtp = maildog_processes.start("runsmtp", "MAILDOG_AUTH_CHECKS_PROCESS=1 " + manage("runsmtp"), env)
        smtp.wait_port(port)
        [message_id] = send_concurrently(port, inbox, client_tls_context, sessions=1, per_session=1)
        assert smtp.stop() == 0  # nothing checked yet: no runchecks

        checks = maildog_processes.start("runchecks", manage("runchecks"), env)
        [request] = receiver.wait_for(1, timeout=30)
        assert request["verified"] and request["json"]["event"] == "message.checked"
        assert request["json"]["message"]["id"] == message_id
        assert checks.stop() == 0 and "Traceback" not in checks.output()
    finally:
        receiver.close()


def test_a_batch_reads_each_inboxs_report_settings_once_and_saves_in_one_transaction(inbox, team, monkeypatch):
    from django.test.utils import CaptureQueriesContext

    from inboxes.models import Inbox
    from reports import service as reports
    from reports.models import InboxReportSettings, Report

    other = Inbox.objects.create(team=team, name="Other")
    InboxReportSettings.objects.create(inbox=other, expected_site_url="https://shop.example")
    messages = [store_message(box, f"Subject: {n}\r\n\r\nx\r\n".encode()) for n in range(3) for box in (inbox, other)]
    Message.objects.update(deliverability_checked_at=None, deliverability_verdict="")
    transactions = []  # the outermost atomic block each save ran in

    def in_transaction(save):
        def saving(messages):
            transactions.append(connection.atomic_blocks[0] if connection.in_atomic_block else None)
            return save(messages)

        return saving

    monkeypatch.setattr(service, "save_results", in_transaction(service.save_results))
    monkeypatch.setattr(reports, "save", in_transaction(reports.save))
    with CaptureQueriesContext(connection) as queries:
        checked = check_messages([message.pk for message in messages])
    assert len(checked) == 6 and Report.objects.filter(message__in=messages).count() == 6
    table = InboxReportSettings._meta.db_table
    assert len([q for q in queries.captured_queries if f'FROM "{table}"' in q["sql"]]) == 2  # one per inbox
    # The verdicts and the reports: one transaction (the test itself runs outside any).
    assert len(transactions) == 2 and transactions[0] is not None and transactions[0] is transactions[1]


def test_without_a_checks_process_runsmtp_writes_the_search_words(
    maildog_processes, inbox, processes_env, client_tls_context
):
    from inboxes.search import search

    env, port = processes_env
    smtp = maildog_processes.start("runsmtp", manage("runsmtp"), env)
    smtp.wait_port(port)
    acknowledged = send_concurrently(port, inbox, client_tls_context, sessions=2, per_session=10)
    assert sorted(search(inbox.pk, "session message").ids()) == sorted(acknowledged)
    if connection.vendor == "postgresql":
        wait_until_indexed(acknowledged)
        assert sorted(search(inbox.pk, "session message").ids()) == sorted(acknowledged)
    assert smtp.stop() == 0
    assert "Traceback" not in smtp.output()
