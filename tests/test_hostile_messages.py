"""Hostile mail over real SMTP: every message of the corpus (tests/hostile.py) opens, says what was cut, reads right.

Each message is sent through smtplib over verified STARTTLS with AUTH to the
real listener, then opened as a user would: the message page, its MIME and
Text tabs, the API detail and a part download. Memory is measured in a child
process capped with RLIMIT_AS (tests/hostile.py `measure`).
"""

import json
import smtplib
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from inboxes.models import Message

from .hostile import CORPUS

ROOT = Path(__file__).resolve().parent.parent


def send(smtp_server, inbox, context, hostile) -> Message:
    with smtplib.SMTP("localhost", smtp_server.starttls_port, timeout=120) as smtp:
        smtp.starttls(context=context)
        smtp.login(inbox.smtp_username, inbox.smtp_password)
        options = ["SMTPUTF8", "BODY=8BITMIME"] if hostile.smtputf8 else ["BODY=8BITMIME"]
        smtp.sendmail("app@example.com", ["qa@example.com"], hostile.raw, mail_options=options)
    return Message.objects.defer(None).get(inbox=inbox)


def page(name, message, *extra):
    return reverse(f"inboxes:{name}", args=[message.inbox_id, message.pk, *extra])


@pytest.mark.parametrize("name", list(CORPUS))
def test_hostile_message_opens_and_says_what_was_cut(
    name, smtp_server, inbox, client_tls_context, owner_client, owner, api_key
):
    hostile = CORPUS[name]()
    message = send(smtp_server, inbox, client_tls_context, hostile)
    assert bytes(message.raw) == hostile.raw

    response = owner_client.get(page("message", message))
    assert response.status_code == 200
    body = response.content.decode()
    for cut in hostile.cuts:
        assert escape(cut) in body
    assert ('id="parse-cuts"' in body) is bool(hostile.cuts)
    for error in hostile.errors:
        assert error in body

    text_tab = owner_client.get(page("message", message) + "?tab=text")
    assert text_tab.status_code == 200
    assert escape(hostile.text) in text_tab.content.decode()

    mime_tab = owner_client.get(page("message", message) + "?tab=mime")
    assert mime_tab.status_code == 200
    path, content = hostile.part
    assert f'href="{page("message_part", message, path)}"' in mime_tab.content.decode()

    headers_tab = owner_client.get(page("message", message) + "?tab=headers")
    assert headers_tab.status_code == 200

    download = owner_client.get(page("message_part", message, path))
    assert download.status_code == 200
    assert download.content == content

    api = Client(headers={"Authorization": f"Bearer {api_key(owner)}"})
    detail = api.get(reverse("api:message-detail", args=[inbox.pk, message.pk]))
    assert detail.status_code == 200
    data = detail.json()
    for cut in hostile.cuts:
        assert any(cut in note for note in data["cuts"]), (cut, data["cuts"])
    assert len(data["cuts"]) == len(set(data["cuts"]))
    for error in hostile.errors:
        assert any(error in note for note in data["errors"])
    assert data["text"].startswith(hostile.text)
    if hostile.subject is not None:
        # The list (stored at ingest), the page and the API read headers alike.
        assert message.subject.startswith(hostile.subject) and data["subject"] == message.subject
        subject = next(header["value"] for header in data["headers"] if header["name"] == "Subject")
        assert subject == message.subject
        assert escape(hostile.subject) in headers_tab.content.decode()
    if hostile.from_header is not None:
        assert message.from_header == hostile.from_header == data["from"]
        assert {"name": "From", "value": hostile.from_header} in data["headers"]
        listed = api.get(reverse("api:message-list", args=[inbox.pk])).json()["results"][0]
        assert (listed["subject"], listed["from"]) == (hostile.subject, hostile.from_header)


def test_many_parts_lists_the_first_thousand_and_downloads_them(smtp_server, inbox, client_tls_context, owner_client):
    message = send(smtp_server, inbox, client_tls_context, CORPUS["parts_20000"]())
    assert message.has_attachments
    tab = owner_client.get(page("message", message) + "?tab=attachments").content.decode()
    # 1,000 parts: the message, its text and the first 998 files.
    assert "f00997.txt" in tab and "f00998.txt" not in tab
    download = owner_client.get(page("message_attachment", message, 997))
    assert download.status_code == 200 and download.content == b"data 00997"
    assert owner_client.get(page("message_attachment", message, 998)).status_code == 404


def test_big_attachment_downloads_whole(smtp_server, inbox, client_tls_context, owner_client):
    hostile = CORPUS["message_25mb"]()
    message = send(smtp_server, inbox, client_tls_context, hostile)
    download = owner_client.get(page("message_attachment", message, 0))
    assert download.status_code == 200
    assert download.content == hostile.part[1]
    assert 'filename="report.pdf"' in download["Content-Disposition"]
    raw_tab = owner_client.get(page("message", message) + "?tab=raw").content.decode()
    assert 'id="raw-cut"' in raw_tab and len(raw_tab) < 3 * 2**20


@pytest.mark.parametrize("name", ["message_25mb", "text_25mb", "encoded_words_100k", "parts_20000", "huge_headers"])
def test_opening_costs_less_than_three_times_the_size_in_memory(name, tmp_path):
    hostile = CORPUS[name]()
    path = tmp_path / "message.eml"
    path.write_bytes(hostile.raw)
    child = subprocess.run(
        [sys.executable, "-m", "tests.hostile", "measure", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        # Fixed glibc thresholds: freed buffers go back to the system, so the peak counts only live memory.
        env={
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "PATH": "/usr/bin:/bin",
            "MALLOC_MMAP_THRESHOLD_": "131072",
            "MALLOC_TRIM_THRESHOLD_": "131072",
        },
    )
    assert child.returncode == 0, child.stderr[-3000:]
    measured = json.loads(child.stdout)
    assert measured["size"] == len(hostile.raw)
    assert 0 <= measured["extra"] < 3 * measured["size"]
    for cut in hostile.cuts:
        assert any(cut in note for note in measured["cuts"])


def test_summary_and_attachments_share_one_definition(inbox):
    """multipart/related with an unnamed PDF: stored as having attachments, and listed."""
    from inboxes.mime import read

    from .conftest import store_message

    raw = (
        b"Subject: related\r\nContent-Type: multipart/related; boundary=r\r\n\r\n"
        b"--r\r\nContent-Type: text/html\r\n\r\n<p>See the PDF</p>\r\n"
        b"--r\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--r--\r\n"
    )
    message = store_message(inbox, raw)
    assert message.has_attachments
    [pdf] = read(raw).attachments
    assert (pdf.path, pdf.content_type, pdf.size) == ("2", "application/pdf", 5)
