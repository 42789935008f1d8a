"""The all-in-one process (`manage.py serve`): web app and SMTP listeners together."""

import json
import os
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"nothing listening on {port}")


@pytest.fixture
def serve_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SSL_CERT_FILE")}
    env.update(DEBUG="1", MAILDOG_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="maildog_site.settings")
    return env


def manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def test_serve_runs_web_and_smtp_in_one_process(serve_env, tmp_path):
    http_port, smtp_port = free_port(), free_port()
    manage(serve_env, "migrate", "-v", "0")
    inbox = json.loads(manage(serve_env, "createinbox", "--team", "Dev", "--name", "Local", "--json"))
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--http-port", str(http_port),
         "--smtp-bind", "127.0.0.1", "--smtp-ports", f"{smtp_port}:starttls"],
        cwd=ROOT, env=serve_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wait_for(http_port, process)
        wait_for(smtp_port, process)
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/admin/login/") as response:
            assert response.status == 200
        context = ssl.create_default_context(cafile=str(tmp_path / "tls" / "maildog-ca.pem"))
        with smtplib.SMTP("localhost", smtp_port, timeout=10) as client:
            client.starttls(context=context)
            client.login(inbox["username"], inbox["password"])
            client.sendmail("app@example.com", ["a@example.com"], b"Subject: via serve\r\n\r\nhi\r\n")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            pytest.fail(f"serve did not stop within 60 s of SIGTERM:\n{output}")
    assert process.returncode == 0, output
    assert "SMTP listening on 127.0.0.1" in output
    count = manage(
        serve_env, "shell", "-v", "0", "-c",
        "from inboxes.models import Message; print(Message.objects.filter(subject='via serve').count())",
    )
    assert count.strip() == "1"
