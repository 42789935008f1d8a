"""Fault rules across two `runsmtp` processes on one database: counts are exact, changes reach both.

With Redis (REDIS_URL set) a change reaches the other processes through the
channel layer's broadcast at once: their refresh interval is set to a minute,
so only the broadcast can explain it. Without Redis (the embedded default has
no cross-process layer) the processes reload within MAILDOG_FAULTS_REFRESH.
"""

import os
import smtplib
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.mail import EmailMessage, get_connection
from django.db import connection

from faults.models import FaultRule, InjectedFault
from inboxes.models import Message
from tests.conftest import database_url
from tests.smtp_process import start_runsmtp

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes, pytest.mark.smtp]

MB = 1024 * 1024
BROADCAST = bool(os.environ.get("REDIS_URL"))
REFRESH = 60 if BROADCAST else 1


@pytest.fixture(scope="module")
def server_files(test_ca, tmp_path_factory):
    directory = tmp_path_factory.mktemp("runsmtp-tls")
    issued = test_ca.issue_cert("localhost", "127.0.0.1")
    issued.cert_chain_pems[0].write_to_path(str(directory / "cert.pem"))
    issued.private_key_pem.write_to_path(str(directory / "key.pem"))
    return directory / "cert.pem", directory / "key.pem"


@pytest.fixture
def two_runsmtp(server_files, trust_test_ca):
    url = database_url(connection.settings_dict)
    started = []
    try:
        for _ in range(2):
            started.append(start_runsmtp(url, *server_files, memory_cap=1024 * MB, MAILDOG_FAULTS_REFRESH=REFRESH))
        yield started
    finally:
        for process in started:
            process.kill()


def send(process, inbox, to="ann@example.com"):
    backend = get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host="localhost",
        port=process.ports["starttls"],
        username=inbox.smtp_username,
        password=inbox.smtp_password,
        use_tls=True,
        timeout=30,
    )
    try:
        return EmailMessage("Hi", "Body", "app@example.com", [to], connection=backend).send()
    except smtplib.SMTPRecipientsRefused:
        return "refused"


def wait_for_change():
    """The broadcast takes moments (a loaded machine can hold a process back a little); without it,
    the other processes see a change once their copy is older than REFRESH."""
    time.sleep(0.5 if BROADCAST else REFRESH + 0.2)


def test_a_counted_rule_is_exact_across_processes_and_changes_reach_both(two_runsmtp, inbox):
    first, second = two_runsmtp
    # Both processes have read the rules (none) before the change.
    assert send(first, inbox) == send(second, inbox) == 1

    FaultRule.objects.create(inbox=inbox, name="four", stage="rcpt", reply="451 4.3.0 Busy", remaining=4)
    wait_for_change()
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(lambda n: send(two_runsmtp[n % 2], inbox, f"user{n}@example.com"), range(12)))
    assert outcomes.count("refused") == 4, outcomes
    assert outcomes.count(1) == 8
    rule = FaultRule.objects.get(name="four")
    assert (rule.remaining, rule.hits) == (0, 4)
    assert InjectedFault.objects.filter(rule=rule).count() == 4
    assert Message.objects.filter(inbox=inbox).count() == 2 + 8

    always = FaultRule.objects.create(inbox=inbox, name="always", stage="rcpt", reply="550")
    wait_for_change()
    assert send(first, inbox) == send(second, inbox) == "refused"
    always.delete()
    wait_for_change()
    assert send(first, inbox) == send(second, inbox) == 1
