"""The check workers keep going: a library error stays on its message, a database outage is retried.

Mail arrives over real SMTP (Django's EmailBackend over verified STARTTLS);
DNS is the loopback server (empty zones: every lookup answers NXDOMAIN).
"""

import smtplib
import ssl
import time

from django.db import connection
from django.test.utils import CaptureQueriesContext

from deliverability.service import check_messages
from inboxes.models import Message

from .conftest import set_failing_writes, store_message


def send(smtp_server, inbox, subject, from_header="app@example.com"):
    """Over verified STARTTLS with smtplib: Django's EmailMessage refuses a From like x@a..b."""
    with smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10) as client:
        client.starttls(context=ssl.create_default_context())
        client.login(inbox.smtp_username, inbox.smtp_password)
        raw = f"From: {from_header}\r\nTo: user@example.com\r\nSubject: {subject}\r\n\r\nHello\r\n"
        client.sendmail("app@example.com", ["user@example.com"], raw.encode())


def wait_checked(count, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Message.objects.filter(deliverability_checked_at__isnull=False).count() >= count:
            return
        time.sleep(0.05)


def test_a_library_error_is_recorded_on_its_message_and_the_worker_goes_on(smtp_server, inbox, owner_client):
    # dnspython refuses the empty label of "a..b" when DMARC looks up _dmarc.a..b: a hostile From.
    send(smtp_server, inbox, "broken From", from_header="x@a..b")
    for n in range(3):
        send(smtp_server, inbox, f"fine {n}")
    wait_checked(4)
    verdicts = dict(Message.objects.values_list("subject", "deliverability_verdict"))
    assert verdicts == {"broken From": "error", "fine 0": "none", "fine 1": "none", "fine 2": "none"}
    broken = Message.objects.get(subject="broken From")
    assert "EmptyLabel" in broken.deliverability_results["error"]

    page = owner_client.get(broken.get_absolute_url())
    assert page.status_code == 200
    assert "Check failed" in page.content.decode()
    assert "Could not be checked: the checks failed on this message" in page.content.decode()

    # The worker is still there for the next message.
    send(smtp_server, inbox, "after the error")
    wait_checked(5)
    assert Message.objects.get(subject="after the error").deliverability_verdict == "none"


def test_small_raw_sources_come_in_one_query_and_large_ones_alone_in_pieces(inbox, monkeypatch):
    from deliverability import service
    from inboxes.raw_source import INLINE_MAX_BYTES, load_raw

    small = [store_message(inbox, f"Subject: {n}\r\n\r\n{'x' * 1000}\r\n".encode()).pk for n in range(3)]
    large = store_message(inbox, b"Subject: large\r\n\r\n" + b"y" * (INLINE_MAX_BYTES + 10) + b"\r\n").pk
    loaded = []

    def recording_load_raw(message_id):
        loaded.append(message_id)
        return load_raw(message_id)  # the real read, in pieces

    monkeypatch.setattr(service, "load_raw", recording_load_raw)
    with CaptureQueriesContext(connection) as queries:
        assert len(check_messages([*small, large])) == 4
    # The batch's facts without any raw source, then (SQLite: through Django's cursor) the small ones at once.
    selects = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert '"raw"' not in selects[0]
    # The large one alone, in pieces: what a batch holds at once stays bounded by INLINE_MAX_BYTES a message.
    assert loaded == [large]
    for message in Message.objects.filter(pk__in=[*small, large]):
        assert message.deliverability_verdict  # every one was checked, from its own bytes


def _set_failing_update(enabled: bool):
    set_failing_writes("UPDATE", "terminating connection due to administrator command", enabled)


def test_checks_that_failed_during_a_database_outage_are_retried(smtp_server, inbox, caplog):
    _set_failing_update(True)
    try:
        send(smtp_server, inbox, "checked later")
        deadline = time.monotonic() + 30
        while "auth checks not saved" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "auth checks not saved (database error), retrying 1 messages" in caplog.text
        assert Message.objects.get().deliverability_checked_at is None
    finally:
        _set_failing_update(False)
    # No restart: the queue tries again by itself once the database takes writes.
    wait_checked(1)
    message = Message.objects.get()
    assert message.deliverability_checked_at is not None and message.deliverability_verdict == "none"
