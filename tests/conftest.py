"""Shared fixtures: a test CA, a real SMTP listener, a team with its people and an inbox."""

import asyncio
import os
import smtplib
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.db import connections

from accounts.models import Membership, Team
from inboxes.integration import IMPLICIT_TLS, STARTTLS, Listener
from inboxes.models import Inbox
from smtpd.server import SMTPService

# free_port and database_url are also imported from here by test modules.
from .processes import Process, database_url, env_on_test_database, free_port, manage, run

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test databases, and at the end, on PostgreSQL, no session left on them.

    Threads of the SMTP services the tests ran (storing, AUTH lookups, webhooks)
    keep their connections to the last; the test database cannot be dropped
    while any is open.
    """
    yield
    with django_db_blocker.unblock():
        for connection in connections.all():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )


@pytest.fixture(scope="session")
def test_ca():
    return trustme.CA()


@pytest.fixture(scope="session")
def server_tls_context(test_ca):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    test_ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    return context


@pytest.fixture(scope="session")
def ca_file(test_ca, tmp_path_factory):
    path = tmp_path_factory.mktemp("ca") / "test-ca.pem"
    test_ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def trust_test_ca(ca_file, monkeypatch):
    """Clients built with ssl.create_default_context() (Django's SMTP backend) trust the test CA."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    return ca_file


@pytest.fixture
def client_tls_context(test_ca):
    context = ssl.create_default_context()
    test_ca.configure_trust(context)
    return context


@dataclass
class RunningSMTP:
    service: SMTPService
    loop: asyncio.AbstractEventLoop
    host: str = "localhost"

    @property
    def starttls_port(self):
        return self.service.port_for(STARTTLS)

    @property
    def tls_port(self):
        return self.service.port_for(IMPLICIT_TLS)

    def stop(self, grace=5.0):
        asyncio.run_coroutine_threadsafe(self.service.stop(grace), self.loop).result(grace + 5)


@pytest.fixture
def smtp_server(transactional_db, server_tls_context, trust_test_ca):
    """Maildog's real SMTP service on free ports, in an event loop of its own thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start():
        service = SMTPService(
            [Listener(0, STARTTLS), Listener(0, IMPLICIT_TLS)],
            bind="127.0.0.1",
            hostname="localhost",
            tls_context=server_tls_context,
        )
        await service.start()
        return service

    running = RunningSMTP(asyncio.run_coroutine_threadsafe(start(), loop).result(10), loop)
    yield running
    if running.service.servers:
        running.stop(grace=1.0)

    async def cancel_leftover_tasks():
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # The listener's database work ran in asgiref's thread: close its connection there.
        await sync_to_async(connections.close_all)()

    asyncio.run_coroutine_threadsafe(cancel_leftover_tasks(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def make_user(email, password=PASSWORD, **extra):
    from allauth.account.models import EmailAddress

    user = get_user_model().objects.create_user(username=email, email=email, password=password, **extra)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    return user


@pytest.fixture
def team(db):
    return Team.objects.create(name="Acme QA")


@pytest.fixture
def owner(team):
    user = make_user("owner@example.com")
    Membership.objects.create(team=team, user=user, role=Membership.Role.OWNER)
    return user


@pytest.fixture
def member(team):
    user = make_user("member@example.com")
    Membership.objects.create(team=team, user=user, role=Membership.Role.MEMBER)
    return user


@pytest.fixture
def outsider(db):
    """Someone with a team of their own, but not the fixture team."""
    user = make_user("outsider@example.com")
    other = Team.objects.create(name="Other team")
    Membership.objects.create(team=other, user=user, role=Membership.Role.OWNER)
    return user


@pytest.fixture
def inbox(team):
    return Inbox.objects.create(team=team, name="Staging")


@pytest.fixture
def wire_recorder(monkeypatch):
    """Records the message bytes every smtplib client (Django's backend included) sends."""
    sent = []
    original = smtplib.SMTP.sendmail

    def recording_sendmail(self, from_addr, to_addrs, msg, *args, **kwargs):
        sent.append(msg if isinstance(msg, bytes) else msg.encode("ascii"))
        return original(self, from_addr, to_addrs, msg, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "sendmail", recording_sendmail)
    return sent


# --- Web product fixtures -----------------------------------------------------


def ingest(inbox_id: int, raw: bytes, facts):
    """Store one message as the SMTP side does (`store_each`), raising what would have been its 451."""
    from inboxes.ingest import Incoming, store_each

    [outcome] = store_each([Incoming(inbox_id, raw, facts)])
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def set_failing_writes(operation: str, error: str, enabled: bool) -> None:
    """A real database error (a trigger raising `error`) on every `operation` ("INSERT" or "UPDATE") of a
    message while `enabled`, as a full disk or a database that went away gives; False removes it."""
    from django.db import connection

    from inboxes.models import Message

    table, name = Message._meta.db_table, f"fail_{operation.lower()}"
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            if enabled:
                cursor.execute(
                    f"CREATE TRIGGER {name} BEFORE {operation} ON {table} BEGIN SELECT RAISE(ABORT, '{error}'); END"
                )
            else:
                cursor.execute(f"DROP TRIGGER {name}")
        elif enabled:
            cursor.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION '{error}'; END $$"
                " LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER {name} BEFORE {operation} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
        else:
            cursor.execute(f"DROP TRIGGER {name} ON {table}")
            cursor.execute(f"DROP FUNCTION {name}()")


def store_message(inbox, raw: bytes, **facts):
    """Store `raw` in `inbox` through the real ingest service (as the SMTP side does)."""
    from inboxes.ingest import SessionFacts

    defaults = {
        "mail_from": "app@example.com",
        "rcpt_tos": ["alice@example.com"],
        "client_ip": "127.0.0.1",
        "helo": "app.example.com",
        "tls_version": "TLSv1.3",
        "tls_cipher": "TLS_AES_256_GCM_SHA384",
        "smtp_username": inbox.smtp_username,
    }
    defaults.update(facts)
    return ingest(inbox.pk, raw, SessionFacts(**defaults))


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


@pytest.fixture
def outsider_client(client, outsider):
    client.force_login(outsider)
    return client


@pytest.fixture
def maildog_mail(settings, smtp_server, team):
    """Maildog's own outgoing mail goes to its SMTP server, into a "Maildog mail" inbox."""
    system_inbox = Inbox.objects.create(team=team, name="Maildog mail")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.starttls_port
    settings.EMAIL_USE_TLS = True
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = system_inbox.smtp_username
    settings.EMAIL_HOST_PASSWORD = system_inbox.smtp_password
    return system_inbox


# --- DNS for the SPF/DKIM/DMARC checks ----------------------------------------
@pytest.fixture(scope="session")
def loopback_dns_server():
    """The loopback DNS server; Maildog processes the tests start inherit it through the environment."""
    from tests.dnsserver import LoopbackDNS

    server = LoopbackDNS().start()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MAILDOG_DNS_NAMESERVERS", server.nameserver)
        yield server
    server.stop()


@pytest.fixture(autouse=True)
def loopback_dns(loopback_dns_server, settings):
    """Every test resolves through the loopback DNS server (empty zones to start with), never public DNS."""
    from deliverability.dns import flush_cache

    loopback_dns_server.zone.clear()
    flush_cache()
    settings.MAILDOG_DNS_NAMESERVERS = [loopback_dns_server.nameserver]
    # Loopback answers take milliseconds; the margin is for a heavily loaded machine.
    settings.MAILDOG_DNS_TIMEOUT = 5.0
    yield loopback_dns_server
    flush_cache()


@pytest.fixture(scope="session")
def dkim_keys():
    """DKIM keys for the test zones: RSA 2048, Ed25519 and a weak RSA 1024."""
    from tests.authzones import ed25519_key, rsa_key

    return {"rsa": rsa_key("rsa"), "ed": ed25519_key("ed"), "weak": rsa_key("weak", 1024)}


@pytest.fixture
def auth_zones(loopback_dns, dkim_keys):
    """The loopback DNS server serving tests/authzones.py's standard zones."""
    from tests.authzones import publish_standard_zones

    publish_standard_zones(loopback_dns, dkim_keys)
    return dkim_keys


# --- API (tests/test_api_*.py, tests/test_client.py) -------------------------


@pytest.fixture
def api_key():
    """Factory: a new API token's key for `user` (scoped to `inbox` if given)."""
    from api.tokens import issue_token

    def make(user, inbox=None, name="tests"):
        return issue_token(user, name, inbox)[1]

    return make


def smtp_backend(smtp_server, inbox, *, implicit_tls=False):
    """Django's real SMTP backend, as an application configured for the inbox uses it (STARTTLS or port 465).

    `smtp_server` is the in-process listener (`smtp_server`) or Maildog's own processes (`maildog_server`)."""
    from django.core.mail import get_connection

    return get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host=smtp_server.host,
        port=smtp_server.tls_port if implicit_tls else smtp_server.starttls_port,
        username=inbox.smtp_username,
        password=inbox.smtp_password,
        use_tls=not implicit_tls,
        use_ssl=implicit_tls,
        timeout=10,
    )


# --- Maildog as separate processes (tests/processes.py) ------------------------
# Credentials of the inbox that catches `maildog_server`'s own mail (a test creates it with them).
SERVER_MAIL_USER, SERVER_MAIL_PASSWORD = "maildog-system", "system-inbox-password-for-tests"


@dataclass
class MaildogServer:
    url: str
    starttls_port: int
    tls_port: int
    ca_file: Path  # the CA of its SMTP certificate: clients trust this to send to it
    process: Process
    host: str = "localhost"  # the name its certificate is for (smtp_backend connects to it)


@pytest.fixture(scope="module")
def maildog_server_tls():
    """The SMTP certificate of `maildog_server`: "test-ca" (issued by the test CA, see `trust_test_ca`)
    or "local-ca" (Maildog's own development CA, which it makes and offers for download).
    A module overrides this fixture to choose."""
    return "test-ca"


@pytest.fixture(scope="module")
def maildog_server(
    maildog_server_tls, django_db_setup, django_db_blocker, test_ca, ca_file, loopback_dns_server, tmp_path_factory
):
    """Maildog as a developer runs it: `manage.py serve` (daphne and SMTP on one loop), on free ports,
    against the test database, resolving through the loopback DNS server.

    Its own mail goes to its own SMTP server, as SERVER_MAIL_USER. Tests that hand it
    data need `transaction=True`: the server only sees what is committed.
    """
    from django.conf import settings
    from django.db import connection

    directory = tmp_path_factory.mktemp("maildog-server")
    if maildog_server_tls == "test-ca":
        certificate = test_ca.issue_cert("localhost", "127.0.0.1")
        certificate.cert_chain_pems[0].write_to_path(str(directory / "cert.pem"))
        certificate.private_key_pem.write_to_path(str(directory / "key.pem"))
        tls = {"MAILDOG_TLS_CERT": directory / "cert.pem", "MAILDOG_TLS_KEY": directory / "key.pem"}
        trusted = ca_file
    else:
        tls = {"MAILDOG_TLS_CERT": "", "MAILDOG_TLS_KEY": ""}
        trusted = settings.DATA_DIR / "tls" / "maildog-ca.pem"
    with django_db_blocker.unblock():
        database = database_url(connection.settings_dict)
    http_port, starttls_port, tls_port = free_port(), free_port(), free_port()
    env = env_on_test_database(
        database,
        **tls,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        ACCOUNT_DEFAULT_HTTP_PROTOCOL="http",
        MAILDOG_SMTP_HOSTNAME="localhost",
        # From the environment, not `serve`'s flags: the pages show these ports to users.
        MAILDOG_SMTP_BIND="127.0.0.1",
        MAILDOG_SMTP_PORTS=f"{starttls_port}:starttls,{tls_port}:tls",
        MAILDOG_SHUTDOWN_GRACE=1,
        MAILDOG_DNS_TIMEOUT=30,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="localhost",
        EMAIL_PORT=starttls_port,
        EMAIL_USE_TLS=1,
        EMAIL_HOST_USER=SERVER_MAIL_USER,
        EMAIL_HOST_PASSWORD=SERVER_MAIL_PASSWORD,
        SSL_CERT_FILE=trusted,
    )
    process = Process("serve", manage("serve", "--http-port", str(http_port)), env, directory)
    try:
        url = f"http://127.0.0.1:{http_port}"
        process.wait_http(url + "/accounts/login/")
        process.wait_port(starttls_port)
        process.wait_port(tls_port)
        yield MaildogServer(url, starttls_port, tls_port, trusted, process)
    finally:
        process.stop()


class MaildogProcesses:
    """Maildog's commands for one test: `start` a long-running one, `run` a one-off one."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[Process] = []

    def start(self, name: str, command: str, env: dict) -> Process:
        """Start `command` (a Procfile line, or `processes.manage(...)`); it is stopped after the test."""
        process = Process(name, command, env, self.log_dir)
        self.started.append(process)
        return process

    def run(self, command: str, env: dict, timeout: float = 60.0):
        """Run `command` to completion; the CompletedProcess, output captured as text."""
        return run(command, env, timeout)


@pytest.fixture
def maildog_processes(tmp_path):
    launcher = MaildogProcesses(tmp_path)
    yield launcher
    for process in launcher.started:
        process.stop()


# The maildog pytest plugin (fixtures `maildog`, `maildog_client`, `maildog_config`),
# as users get it from its entry point once Maildog is installed.
pytest_plugins = ["maildog_client.pytest_plugin"]


# --- Browser ------------------------------------------------------------------
# Debian's Chromium through Playwright, never a downloaded browser; no network of its own.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API keeps an event loop in this thread while it lives; the
    # tests' own ORM calls (and the database flush after each) are still synchronous.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, errors


# --- Every test -----------------------------------------------------------------
@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Every test starts with no requests counted: DRF's throttles count in Django's cache."""
    from django.core.cache import cache

    cache.clear()


# --- Markers by cost and need (registered in pyproject.toml) ----------------------
# A test gets a marker from the fixtures it uses, directly or through other fixtures.
# Fixtures local to one module are named here too, so their tests need no mark of their own.
MARKERS_BY_FIXTURE = {
    "smtp_server": {"smtp"},
    "loop_smtp": {"smtp"},  # tests/test_api_wait.py: the SMTP service on the test's own loop
    "maildog_server": {"processes", "smtp"},
    "maildog_processes": {"processes"},
    "runsmtp": {"processes", "smtp"},  # tests/test_smtp_process_limits.py
    "deployment": {"processes", "smtp"},  # tests/test_deploy_processes.py, on the embedded default
    "scaled_deployment": {"processes", "smtp"},  # tests/test_deploy_processes.py, on PostgreSQL and Redis
    # PostgreSQL and Redis servers, whatever DATABASE_URL and REDIS_URL say:
    "postgres_database": {"postgres"},  # tests/test_deploy_processes.py: a throwaway database (and Redis)
    "redis_server": {"postgres"},  # tests/test_redis_outage.py: a redis-server of its own
    "browser": {"browser"},
    "page": {"browser"},
    "spamd": {"spamd"},  # tests/test_reports_spam.py: SpamAssassin's spamd, started by the tests
}


def pytest_collection_modifyitems(items):
    for item in items:
        markers = set()
        for name in getattr(item, "fixturenames", ()):
            markers |= MARKERS_BY_FIXTURE.get(name, set())
        for marker in sorted(markers):
            item.add_marker(marker)
