"""The all-in-one process (`manage.py serve`): web app and SMTP listeners together."""

import json
import os
import smtplib
import ssl
import urllib.request

import pytest

from .processes import free_port, manage

# Mail goes to the process over SMTP (the process marker comes from `maildog_processes`).
pytestmark = pytest.mark.smtp


@pytest.fixture
def serve_env(tmp_path):
    """A developer's environment: DEBUG on, the product's settings, a data directory of its own (SQLite)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SSL_CERT_FILE")}
    env.update(DEBUG="1", MAILDOG_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="maildog_site.settings")
    return env


def test_serve_runs_web_and_smtp_in_one_process(maildog_processes, serve_env, tmp_path):
    def command(*args):
        result = maildog_processes.run(manage(*args), serve_env)
        assert result.returncode == 0, result.stderr
        return result.stdout

    http_port, smtp_port = free_port(), free_port()
    command("migrate", "-v", "0")
    inbox = json.loads(command("createinbox", "--team", "Dev", "--name", "Local", "--json"))
    serve = maildog_processes.start(
        "serve",
        manage(
            "serve", "--http-port", str(http_port), "--smtp-bind", "127.0.0.1", "--smtp-ports", f"{smtp_port}:starttls"
        ),
        serve_env,
    )
    serve.wait_port(http_port)
    serve.wait_port(smtp_port)
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/admin/login/") as response:
        assert response.status == 200
    context = ssl.create_default_context(cafile=str(tmp_path / "tls" / "maildog-ca.pem"))
    with smtplib.SMTP("localhost", smtp_port, timeout=10) as client:
        client.starttls(context=context)
        client.login(inbox["username"], inbox["password"])
        client.sendmail("app@example.com", ["a@example.com"], b"Subject: via serve\r\n\r\nhi\r\n")

    # SIGTERM: a clean exit (SIGKILL after 60 s would show as -9).
    assert serve.stop(timeout=60) == 0, serve.output()
    assert "SMTP listening on 127.0.0.1" in serve.output()
    # Once per listener (a log line used to repeat it).
    assert serve.output().lower().count(f"listening on 127.0.0.1:{smtp_port}") == 1, serve.output()
    count = command(
        "shell",
        "-v",
        "0",
        "-c",
        "from inboxes.models import Message; print(Message.objects.filter(subject='via serve').count())",
    )
    assert count.strip() == "1"
