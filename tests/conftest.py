"""Shared fixtures: a test CA, a real SMTP listener, a team with its people and an inbox."""

import asyncio
import smtplib
import ssl
import threading
from dataclasses import dataclass

import pytest
import trustme
from django.contrib.auth import get_user_model

from accounts.models import Membership, Team
from inboxes.models import Inbox
from smtpd.config import IMPLICIT_TLS, STARTTLS, Listener
from smtpd.server import SMTPService

PASSWORD = "correct horse battery staple"


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


# --- API (tests/test_api_*.py, tests/test_client.py) -------------------------


@pytest.fixture
def api_key():
    """Factory: a new API token's key for `user` (scoped to `inbox` if given)."""
    from accounts.token_keys import issue_token

    def make(user, inbox=None, name="tests"):
        return issue_token(user, name, inbox)[1]

    return make


def smtp_backend(smtp_server, inbox):
    """Django's real SMTP backend, as an application configured for the inbox uses it."""
    from django.core.mail import get_connection

    return get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host=smtp_server.host,
        port=smtp_server.starttls_port,
        username=inbox.smtp_username,
        password=inbox.smtp_password,
        use_tls=True,
        timeout=10,
    )
