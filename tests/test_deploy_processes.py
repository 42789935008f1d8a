"""The Procfile's processes, run as separate OS processes.

Everything follows the Procfile: the build step (collectstatic), `release`,
then `web` and `smtp`. On the embedded default (SQLite in the data directory,
no Redis) one web and one smtp process share the database: mail delivered
over SMTP with verified TLS is on the web process's pages.

Scaled, two web and two smtp processes run at once against PostgreSQL and
Redis (marked `postgres`): messages reach browsers' websockets on every web
process; then the smtp process is restarted while a client keeps sending, and
every message the client sent is either stored exactly once after a 250 or
refused in a way the client sees. The suite's own database may be SQLite: the
scaled deployment always makes a throwaway PostgreSQL database (on
DATABASE_URL's server, else 127.0.0.1:5432) and uses Redis (REDIS_URL, else
127.0.0.1:6379/6) under a channel prefix of its own.
"""

import json
import os
import secrets
import smtplib
import ssl
import threading
import time
from email.message import EmailMessage

import dj_database_url
import httpx
import psycopg
import pytest
from psycopg import sql
from websockets.sync.client import connect as websocket_connect

from .processes import Process, free_port, procfile, production_env, run

WEB_TIMEOUT = 10


def _postgres_server() -> dict:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        config = dj_database_url.parse(url)
        return {
            "host": config["HOST"] or "127.0.0.1",
            "port": int(config["PORT"] or 5432),
            "user": config["USER"] or "postgres",
            "password": config["PASSWORD"] or "",
            "base": config["NAME"],
        }
    return {"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": "", "base": "maildog"}


@pytest.fixture(scope="module")
def postgres_database():
    server = _postgres_server()
    name = f"{server['base']}_procs_{secrets.token_hex(4)}"
    admin = dict(host=server["host"], port=server["port"], user=server["user"], password=server["password"])
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"postgres://{server['user']}:{server['password']}@{server['host']}:{server['port']}/{name}"
    yield {"url": url, "connect": lambda: psycopg.connect(dbname=name, autocommit=True, **admin)}
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def tls_files(test_ca, tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    cert = test_ca.issue_cert("localhost", "127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(str(directory / "cert.pem"))
    cert.private_key_pem.write_to_path(str(directory / "key.pem"))
    return directory / "cert.pem", directory / "key.pem"


SETUP_SCRIPT = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from allauth.account.models import EmailAddress
from accounts.models import Membership, Team
from inboxes.models import Inbox

user = get_user_model().objects.create_user(username="ops@example.com", email="ops@example.com")
EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
team = Team.objects.create(name="Ops")
Membership.objects.create(team=team, user=user, role=Membership.Role.OWNER)
inbox = Inbox.objects.create(team=team, name="Production smoke")
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(json.dumps({"inbox": inbox.pk, "username": inbox.smtp_username, "password": inbox.smtp_password,
                  "session": session.session_key}))
"""


def release(tmp, tls_files, ports, **settings) -> tuple[dict, dict]:
    """The build step (as docs/deploy.md has it) and the Procfile's release, with one production
    environment; then a user, a team, an inbox and a session. Returns the environment and those facts."""
    cert, key = tls_files
    env = production_env(
        ALLOWED_HOSTS="127.0.0.1,localhost",
        MAILDOG_BEHIND_PROXY="1",
        MAILDOG_DATA_DIR=tmp / "data",
        STATIC_ROOT=tmp / "static",
        MAILDOG_SMTP_HOSTNAME="localhost",
        MAILDOG_SMTP_BIND="127.0.0.1",
        MAILDOG_SMTP_PORTS=f"{ports['smtp']}:starttls",
        MAILDOG_TLS_CERT=cert,
        MAILDOG_TLS_KEY=key,
        MAILDOG_SMTP_HEALTH_PORT=ports["health"],
        MAILDOG_SHUTDOWN_GRACE="10",
        # SPF/DKIM/DMARC would query public DNS; the checks have their own tests with a loopback DNS server.
        MAILDOG_AUTH_CHECKS="0",
        PORT=ports["web"],
        **settings,
    )
    for step in ("python manage.py collectstatic --noinput", procfile()["release"]):
        result = run(step, env, timeout=180)
        assert result.returncode == 0, f"{step}:\n{result.stdout}\n{result.stderr}"
    result = run(f"python manage.py shell -c '{SETUP_SCRIPT}'", env)
    assert result.returncode == 0, result.stderr
    return env, json.loads(result.stdout.strip().splitlines()[-1])


def start(deployment: dict, names) -> dict:
    """Wait until the named processes of `deployment` are healthy; stop them all if one is not."""
    try:
        for name in names:
            if name.startswith("web"):
                response = deployment[name].wait_http(f"http://127.0.0.1:{deployment['ports'][name]}/health/")
                assert response.status_code == 200, deployment[name].output()
            else:
                wait_smtp_healthy(deployment, name, name.replace("smtp", "health"))
    except BaseException:
        for name in names:
            deployment[name].stop()
        raise
    return deployment


@pytest.fixture(scope="module")
def deployment(tls_files, tmp_path_factory):
    """The embedded default: SQLite in the data directory, no Redis; one web and one smtp process."""
    tmp = tmp_path_factory.mktemp("deployment")
    ports = {name: free_port() for name in ("web", "smtp", "health")}
    env, facts = release(tmp, tls_files, ports)
    deployment = {
        "env": env,
        "tmp": tmp,
        "ports": ports,
        **facts,
        "web": Process("web", procfile()["web"], env, tmp),
        "smtp": Process("smtp", procfile()["smtp"], env, tmp),
    }
    yield start(deployment, ("web", "smtp"))
    for name in ("web", "smtp"):
        deployment[name].stop()


@pytest.fixture(scope="module")
def scaled_deployment(postgres_database, tls_files, tmp_path_factory):
    """Two web and two smtp processes on PostgreSQL and Redis, as in a scaled deployment."""
    tmp = tmp_path_factory.mktemp("scaled")
    ports = {name: free_port() for name in ("web", "web2", "smtp", "smtp2", "health", "health2")}
    env, facts = release(
        tmp,
        tls_files,
        ports,
        DATABASE_URL=postgres_database["url"],
        REDIS_URL=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/6",
        MAILDOG_REDIS_PREFIX=f"maildog-procs-{secrets.token_hex(4)}",
    )
    # Two of each: any web process must hear of messages from any smtp process.
    smtp_env = dict(env, LOG_FORMAT="json")
    smtp2_env = dict(
        smtp_env, MAILDOG_SMTP_PORTS=f"{ports['smtp2']}:starttls", MAILDOG_SMTP_HEALTH_PORT=str(ports["health2"])
    )
    deployment = {
        "env": env,
        "smtp_env": smtp_env,
        "tmp": tmp,
        "ports": ports,
        **facts,
        "web": Process("web", procfile()["web"], env, tmp),
        "web2": Process("web", procfile()["web"], dict(env, PORT=str(ports["web2"])), tmp),
        "smtp": Process("smtp", procfile()["smtp"], smtp_env, tmp),
        "smtp2": Process("smtp", procfile()["smtp"], smtp2_env, tmp),
    }
    yield start(deployment, ("web", "web2", "smtp", "smtp2"))
    for name in ("web", "web2", "smtp", "smtp2"):
        deployment[name].stop()


def wait_smtp_healthy(deployment, name="smtp", health="health"):
    url = f"http://127.0.0.1:{deployment['ports'][health]}/health"
    response = deployment[name].wait_http(url)
    deadline = time.monotonic() + 10
    while response.status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
        response = httpx.get(url, timeout=5)
    assert response.status_code == 200, response.text
    assert response.json()["listeners"] == "ok"


@pytest.fixture
def client_context(test_ca):
    context = ssl.create_default_context()
    test_ca.configure_trust(context)
    return context


def web_get(deployment, path, web="web"):
    """A request as the TLS-terminating proxy forwards it, with the logged-in user's cookie."""
    return httpx.get(
        f"http://127.0.0.1:{deployment['ports'][web]}{path}",
        headers={"X-Forwarded-Proto": "https", "Cookie": f"sessionid={deployment['session']}"},
        timeout=WEB_TIMEOUT,
    )


def open_websocket(deployment, web="web"):
    port = deployment["ports"][web]
    return websocket_connect(
        f"ws://127.0.0.1:{port}/ws/inboxes/{deployment['inbox']}/",
        origin=f"https://127.0.0.1:{port}",
        additional_headers={"Cookie": f"sessionid={deployment['session']}"},
        max_queue=None,
        open_timeout=WEB_TIMEOUT,
    )


def new_message_events(websocket, wanted_ids, timeout=15.0):
    """Read message.new events until every id in `wanted_ids` was seen; return the events by id."""
    seen = {}
    deadline = time.monotonic() + timeout
    while not set(wanted_ids) <= set(seen):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            event = json.loads(websocket.recv(timeout=remaining))
        except TimeoutError:
            break
        if event.get("type") == "message.new":
            seen[event["message"]["id"]] = event
    return seen


def email(subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = "app@example.com"
    message["To"] = "user@example.com"
    message["Subject"] = subject
    message["Message-ID"] = f"<{subject.replace(' ', '.')}@example.com>"
    message.set_content(f"Body of {subject}")
    return message.as_bytes()


def smtp_login(deployment, context, smtp="smtp") -> smtplib.SMTP:
    client = smtplib.SMTP("localhost", deployment["ports"][smtp], timeout=10)
    client.starttls(context=context)
    client.login(deployment["username"], deployment["password"])
    return client


def test_static_files_are_hashed_compressed_and_cached(deployment):
    manifest = json.loads((deployment["tmp"] / "static" / "staticfiles.json").read_text())
    hashed = manifest["paths"]["admin/css/base.css"]
    assert hashed != "admin/css/base.css"
    response = httpx.get(
        f"http://127.0.0.1:{deployment['ports']['web']}/static/{hashed}",
        headers={"Accept-Encoding": "br, gzip", "X-Forwarded-Proto": "https"},
        timeout=WEB_TIMEOUT,
    )
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "immutable" in response.headers["Cache-Control"]


def test_mail_sent_to_the_smtp_process_is_on_the_web_process_pages(deployment, client_context):
    with smtp_login(deployment, client_context) as client:
        client.sendmail("app@example.com", ["user@example.com"], email("Deployed on SQLite"))
    inbox_page = web_get(deployment, f"/inboxes/{deployment['inbox']}/")
    assert inbox_page.status_code == 200
    assert "Deployed on SQLite" in inbox_page.text
    anonymous = httpx.get(
        f"http://127.0.0.1:{deployment['ports']['web']}/inboxes/{deployment['inbox']}/",
        headers={"X-Forwarded-Proto": "https"},
        timeout=WEB_TIMEOUT,
    )
    assert "Deployed on SQLite" not in anonymous.text


def test_messages_from_any_smtp_process_reach_websockets_and_pages_on_any_web_process(
    scaled_deployment, client_context
):
    with open_websocket(scaled_deployment, "web") as websocket, open_websocket(scaled_deployment, "web2") as websocket2:
        subjects = {"smtp": "Deployed and live", "smtp2": "Also from the second smtp process"}
        for smtp, subject in subjects.items():
            with smtp_login(scaled_deployment, client_context, smtp) as client:
                client.sendmail("app@example.com", ["user@example.com"], email(subject))
        received = [
            {event["message"]["subject"]: event for event in _events(socket, 2)} for socket in (websocket, websocket2)
        ]
    for events in received:
        assert set(events) == set(subjects.values())

    for subject, web in ((subjects["smtp"], "web2"), (subjects["smtp2"], "web")):
        message_id = received[0][subject]["message"]["id"]
        path = f"/inboxes/{scaled_deployment['inbox']}/messages/{message_id}/"
        page = web_get(scaled_deployment, path, web)
        assert page.status_code == 200
        assert subject in page.text
        # Without the session the page is not shown.
        anonymous = httpx.get(
            f"http://127.0.0.1:{scaled_deployment['ports'][web]}{path}",
            headers={"X-Forwarded-Proto": "https"},
            timeout=WEB_TIMEOUT,
        )
        assert subject not in anonymous.text


def _events(websocket, count, timeout=15.0, kind="message.new"):
    """The next `count` events of one kind (other events, like message.checked, interleave)."""
    events = []
    deadline = time.monotonic() + timeout
    while len(events) < count:
        event = json.loads(websocket.recv(timeout=max(deadline - time.monotonic(), 0.01)))
        if event["type"] == kind:
            events.append(event)
    return events


class StreamingClient(threading.Thread):
    """Sends numbered messages, a few per connection, and records what the server said to each."""

    def __init__(self, deployment, context):
        super().__init__(daemon=True)
        self.deployment, self.context = deployment, context
        self.stop_sending = threading.Event()
        self.accepted: dict[str, int] = {}  # subject -> id from the 250 reply
        self.refused: dict[str, int] = {}  # subject -> 4xx/5xx code
        self.connection_errors: list[str] = []
        self.sent = 0

    def run(self):
        client = None
        while not self.stop_sending.is_set():
            subject = f"stream {self.sent}"
            self.sent += 1
            try:
                if client is None:
                    client = smtp_login(self.deployment, self.context)
                code = self._send(client, subject)
                if code is not None:
                    self.refused[subject] = code
                    client.close()
                    client = None
                elif self.sent % 5 == 0:
                    client.quit()
                    client = None
            except (smtplib.SMTPException, OSError):
                self.connection_errors.append(subject)
                if client is not None:
                    client.close()
                client = None
                time.sleep(0.05)
        if client is not None:
            client.quit()

    def _send(self, client, subject):
        """None when accepted; the refusal code otherwise."""
        for code, reply in (client.mail("app@example.com"), client.rcpt("user@example.com")):
            if code >= 400:
                return code
        code, reply = client.data(email(subject))
        if code != 250:
            return code
        self.accepted[subject] = int(reply.decode().rsplit("id=", 1)[1])
        return None

    def wait_accepted(self, count, timeout=20.0):
        deadline = time.monotonic() + timeout
        while len(self.accepted) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.accepted) >= count, (self.accepted, self.refused, self.connection_errors)


def test_restarting_smtp_while_a_client_sends_loses_nothing_silently(
    scaled_deployment, client_context, postgres_database
):
    with open_websocket(scaled_deployment) as websocket:
        stream = StreamingClient(scaled_deployment, client_context)
        stream.start()
        try:
            stream.wait_accepted(5)
            old = scaled_deployment["smtp"]
            assert old.stop() == 0, old.output()
            accepted_by_old = dict(stream.accepted)
            accepted_before_restart = len(accepted_by_old)
            scaled_deployment["smtp"] = Process(
                "smtp", procfile()["smtp"], scaled_deployment["smtp_env"], scaled_deployment["tmp"]
            )
            wait_smtp_healthy(scaled_deployment)
            stream.wait_accepted(accepted_before_restart + 5)
        finally:
            stream.stop_sending.set()
            stream.join(20)
        assert not stream.is_alive()
        print(
            f"sent {stream.sent}: {len(stream.accepted)} accepted, {len(stream.refused)} refused "
            f"{sorted(set(stream.refused.values()))}, {len(stream.connection_errors)} connection errors"
        )
        events = new_message_events(websocket, stream.accepted.values())

    attempted = {f"stream {n}" for n in range(stream.sent)}
    refused_4xx = {subject for subject, code in stream.refused.items() if 400 <= code < 500}
    # Every message the client tried is accounted for, by what the client itself saw.
    assert set(stream.accepted) | set(stream.refused) | set(stream.connection_errors) == attempted
    assert refused_4xx == set(stream.refused), f"permanent refusals during a restart: {stream.refused}"

    with postgres_database["connect"]() as conn:
        rows = conn.execute(
            "SELECT id, subject FROM inboxes_message WHERE inbox_id = %s AND subject LIKE 'stream %%'",
            [scaled_deployment["inbox"]],
        ).fetchall()
    stored = {}
    for message_id, subject in rows:
        stored.setdefault(subject, []).append(message_id)
    # 250 means stored, exactly once, under the id the reply named.
    for subject, message_id in stream.accepted.items():
        assert stored.get(subject) == [message_id], subject
    # A 4xx means not stored: the client retries it.
    assert not refused_4xx & set(stored)
    assert set(stored) <= attempted
    # The shutdown was noticed by the client, between messages.
    assert stream.refused or stream.connection_errors

    # Browsers on the web process heard of every stored message, from both smtp processes.
    assert set(stream.accepted.values()) <= set(events)

    # The first smtp process logged each session as one JSON line, without secrets or content.
    sessions = [
        json.loads(line) for line in old.output().splitlines() if line.startswith("{") and '"smtp_session"' in line
    ]
    # Sessions that logged in name the inbox's user; the ones shutdown closed before their AUTH name none.
    assert any(entry["auth_user"] == scaled_deployment["username"] for entry in sessions), sessions
    assert all(entry["auth_user"] in (scaled_deployment["username"], None, "") for entry in sessions), sessions
    # A session whose TLS handshake the shutdown cut short is "tls_failed"; no other outcome is possible.
    assert {entry["outcome"] for entry in sessions} <= {"stored", "partial", "refused", "no_message", "tls_failed"}
    logged_ids = {message_id for entry in sessions for message_id in entry["messages"]}
    assert set(accepted_by_old.values()) <= logged_ids
    assert scaled_deployment["password"] not in old.output()
    assert "Body of stream" not in old.output()


def test_an_idle_websocket_stays_open_and_still_gets_events(scaled_deployment, client_context):
    # The Redis layer blocks up to 5 s per receive: a websocket idle for longer
    # must neither be closed by the server nor miss the next event.
    with open_websocket(scaled_deployment, "web2") as websocket:
        with pytest.raises(TimeoutError):
            websocket.recv(timeout=7)
        with smtp_login(scaled_deployment, client_context, "smtp2") as client:
            client.sendmail("app@example.com", ["user@example.com"], email("After a quiet spell"))
        [event] = _events(websocket, 1)
    assert event["message"]["subject"] == "After a quiet spell"
