"""Structured logs: one line per SMTP session with its facts, as key=value text or JSON."""

import json
import logging
import smtplib
import sys
import time

import pytest

from maildog_site.logs import JSONFormatter, KeyValueFormatter

BODY = "The secret reset link is https://app.example.com/reset/s3cr3t/"


def session_records(caplog, count=1, timeout=5.0):
    """The smtp_session records (logged when the server sees the connection close)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = [r for r in caplog.records if getattr(r, "event", None) == "smtp_session"]
        if len(records) >= count:
            return records
        time.sleep(0.02)
    raise AssertionError(f"no smtp_session log line: {caplog.text}")


def send(smtp_server, client_tls_context, inbox, *, password=None, messages=1, helo="app.example.com"):
    with smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, local_hostname=helo, timeout=10) as client:
        client.starttls(context=client_tls_context)
        client.login(inbox.smtp_username, password or inbox.smtp_password)
        for i in range(messages):
            client.sendmail("app@example.com", ["user@example.com"], f"Subject: Reset {i}\r\n\r\n{BODY}\r\n")


@pytest.fixture
def caplog(caplog):
    caplog.set_level(logging.INFO, logger="maildog.smtp")
    return caplog


def test_a_session_is_logged_with_its_facts(smtp_server, client_tls_context, inbox, caplog):
    send(smtp_server, client_tls_context, inbox, messages=2)
    [record] = session_records(caplog)
    fields = record.fields
    assert fields["client"] == "127.0.0.1"
    assert fields["helo"] == "app.example.com"
    assert fields["auth_user"] == inbox.smtp_username
    assert fields["inbox"] == inbox.pk
    assert fields["outcome"] == "stored"
    assert fields["messages"] == list(inbox.messages.order_by("seq").values_list("pk", flat=True))
    assert len(fields["messages"]) == 2
    assert fields["refusals"] == []
    assert isinstance(fields["duration_ms"], int) and fields["duration_ms"] >= 0


def test_refused_session_is_logged_with_its_codes_and_without_the_password(
    smtp_server, client_tls_context, inbox, caplog
):
    with pytest.raises(smtplib.SMTPAuthenticationError):
        send(smtp_server, client_tls_context, inbox, password="wrong-password-123")
    [record] = session_records(caplog)
    assert record.fields["outcome"] == "refused"
    # smtplib tries each mechanism it knows (PLAIN, LOGIN): one 535 for each.
    assert set(record.fields["refusals"]) == {"535"}
    assert record.fields["inbox"] is None
    text = KeyValueFormatter().format(record) + JSONFormatter().format(record)
    assert "wrong-password-123" not in text and inbox.smtp_password not in text


def test_log_lines_carry_no_content_or_password(smtp_server, client_tls_context, inbox, caplog):
    send(smtp_server, client_tls_context, inbox)
    [record] = session_records(caplog)
    for formatter in (KeyValueFormatter(), JSONFormatter()):
        line = formatter.format(record)
        assert inbox.smtp_password not in line
        assert "s3cr3t" not in line and "Reset 0" not in line


def test_key_value_format(smtp_server, client_tls_context, inbox, caplog):
    send(smtp_server, client_tls_context, inbox)
    [record] = session_records(caplog)
    line = KeyValueFormatter().format(record)
    assert "\n" not in line
    assert " INFO maildog.smtp smtp_session client=127.0.0.1 helo=app.example.com " in line
    [message_id] = record.fields["messages"]
    assert f" auth_user={inbox.smtp_username} inbox={inbox.pk} outcome=stored messages={message_id} " in line
    assert " refusals=- duration_ms=" in line


def test_json_format(smtp_server, client_tls_context, inbox, caplog):
    send(smtp_server, client_tls_context, inbox)
    [record] = session_records(caplog)
    data = json.loads(JSONFormatter().format(record))
    assert data["event"] == "smtp_session" and data["level"] == "INFO" and data["logger"] == "maildog.smtp"
    assert data["outcome"] == "stored" and data["auth_user"] == inbox.smtp_username
    assert data["messages"] == record.fields["messages"]
    assert data["time"].endswith("+00:00")


def test_client_supplied_values_cannot_forge_log_fields():
    record = logging.LogRecord("maildog.smtp", logging.INFO, __file__, 1, "smtp_session", None, None)
    record.event = "smtp_session"
    record.fields = {"helo": 'evil outcome=stored "x"', "inbox": None}
    line = KeyValueFormatter().format(record)
    assert line.endswith(' helo="evil outcome=stored \\"x\\"" inbox=-')


def test_free_text_records_and_exceptions_are_formatted_too():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "maildog.smtp", logging.ERROR, __file__, 1, "storing failed inbox=%s", (7,), sys.exc_info()
        )
    assert json.loads(JSONFormatter().format(record))["message"] == "storing failed inbox=7"
    assert "ValueError: boom" in json.loads(JSONFormatter().format(record))["exception"]
    assert "storing failed inbox=7\n    Traceback" in KeyValueFormatter().format(record)


FORGED = "x\n2026-01-01T00:00:00.000+00:00 INFO maildog.smtp smtp_session client=1.2.3.4 outcome=stored\r\x1b[2K\u2028"


def test_a_failed_auth_username_cannot_forge_log_lines(smtp_server, client_tls_context, inbox, caplog):
    import base64

    caplog.set_level(logging.INFO)
    with smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10) as client:
        client.starttls(context=client_tls_context)
        client.ehlo()
        credentials = base64.b64encode(b"\0" + FORGED.encode() + b"\0wrong").decode()
        assert client.docmd("AUTH PLAIN", credentials)[0] == 535
    session_records(caplog)
    [failure] = [r for r in caplog.records if getattr(r, "event", None) == "smtp_auth_failed"]
    assert failure.fields["user"] == FORGED
    for record in caplog.records:
        for formatter in (KeyValueFormatter(), JSONFormatter()):
            line = formatter.format(record)
            assert len(line.splitlines()) == 1, line
            assert "\r" not in line and "\x1b" not in line
    line = KeyValueFormatter().format(failure)
    assert line.count("outcome=stored") == 1 and '"x\\n2026' in line
    assert json.loads(JSONFormatter().format(failure))["user"] == FORGED


def test_control_characters_never_break_a_line_in_either_format():
    controls = "".join(map(chr, [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029, 0xDC80]))
    try:
        raise ValueError(f"bad {controls} value")
    except ValueError:
        record = logging.LogRecord(
            "mail.log", logging.ERROR, __file__, 1, "unrecognised: %s", (controls,), sys.exc_info()
        )
    record.event = "smtp_session"
    record.fields = {"helo": controls, "auth_user": controls}
    text = KeyValueFormatter().format(record)
    first, *traceback = text.split("\n")
    assert len(first.splitlines()) == 1 and "\r" not in text
    # A traceback follows, every line of it indented: none can pass for a record.
    assert traceback and all(line.startswith("    ") for line in traceback)
    assert all(len(line.splitlines()) == 1 for line in traceback)
    data = JSONFormatter().format(record)
    assert len(data.splitlines()) == 1 and data.isascii()
    assert json.loads(data)["helo"] == controls
