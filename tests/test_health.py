"""Health endpoints: the web process's /health/ and the SMTP process's /health listener."""

import asyncio
import json
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from smtpd.health import SMTPHealthServer

from .processes import free_port, procfile, production_env

UNREACHABLE_DATABASE = "postgres://postgres@127.0.0.1:1/maildog_unreachable"


# --- web --------------------------------------------------------------------
def test_web_health_reports_the_database_ok(client, db):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_web_health_answers_probes_by_ip_over_plain_http(client, db, settings):
    # Load balancers probe by address (not in ALLOWED_HOSTS) and without TLS.
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/health/", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    # Other pages keep their protection.
    assert client.get("/", HTTP_HOST="maildog.example.com").status_code == 400
    assert client.get("/").status_code == 301


def test_web_health_only_answers_reads(client, db):
    assert client.post("/health/").status_code == 404


def test_web_process_health_is_503_when_the_database_is_down(maildog_processes, tmp_path):
    port = free_port()
    env = production_env(PORT=port, DATABASE_URL=UNREACHABLE_DATABASE, MAILDOG_DATA_DIR=tmp_path)
    web = maildog_processes.start("web", procfile()["web"], env)
    response = web.wait_http(f"http://127.0.0.1:{port}/health/")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "error"}


# --- smtp -------------------------------------------------------------------
def get(url):
    return httpx.get(url, timeout=10)


@pytest.fixture
def smtp_health(smtp_server):
    health = SMTPHealthServer(smtp_server.service, "127.0.0.1", 0)
    asyncio.run_coroutine_threadsafe(health.start(), smtp_server.loop).result(5)
    yield f"http://127.0.0.1:{health.port}"
    asyncio.run_coroutine_threadsafe(health.stop(), smtp_server.loop).result(5)


def test_smtp_health_reports_listeners_and_database(smtp_server, smtp_health):
    response = get(f"{smtp_health}/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["listeners"] == "ok" and body["database"] == "ok"
    assert {(item["port"], item["mode"]) for item in body["ports"]} == {
        (smtp_server.starttls_port, "starttls"),
        (smtp_server.tls_port, "tls"),
    }


def test_smtp_health_is_503_once_the_listeners_stop(smtp_server, smtp_health):
    smtp_server.stop(grace=1.0)
    response = get(f"{smtp_health}/health")
    assert response.status_code == 503
    assert response.json()["listeners"] == "down"


def test_smtp_health_answers_only_get_on_its_path(smtp_health):
    assert get(f"{smtp_health}/other").status_code == 404
    assert httpx.post(f"{smtp_health}/health", timeout=10).status_code == 405
    head = httpx.head(f"{smtp_health}/health", timeout=10)
    assert head.status_code == 200 and head.content == b""


def test_smtp_process_health_is_503_when_the_database_is_down(maildog_processes, tmp_path):
    health_port = free_port()
    env = production_env(
        DATABASE_URL=UNREACHABLE_DATABASE,
        MAILDOG_DATA_DIR=tmp_path,
        MAILDOG_SMTP_BIND="127.0.0.1",
        MAILDOG_SMTP_PORTS=f"{free_port()}:starttls",
        MAILDOG_SMTP_HEALTH_PORT=health_port,
    )
    smtp = maildog_processes.start("smtp", procfile()["smtp"], env)
    response = smtp.wait_http(f"http://127.0.0.1:{health_port}/health")
    assert response.status_code == 503
    body = response.json()
    assert body["listeners"] == "ok"
    assert body["database"] == "error"
    assert smtp.stop() == 0, smtp.output()
    assert "SMTP server stopped" in smtp.output()


def test_bad_requests_get_400(smtp_health):
    port = urlsplit(smtp_health).port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"nonsense\r\n\r\n")
        reply = b""
        while chunk := sock.recv(4096):  # the server closes after its answer
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["error"] == "bad request"
