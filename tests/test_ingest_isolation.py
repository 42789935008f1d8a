"""A failure stays with its message: poisoned sessions beside normal ones, cleaned session strings.

Mail goes over real SMTP (smtplib over verified TLS); run on SQLite and on
PostgreSQL (NUL characters only hurt there).
"""

import base64
import smtplib
import threading
from email.message import EmailMessage

from django.test import Client
from django.urls import reverse

from accounts.models import Team
from inboxes.models import Inbox, Message

from .hostile import POISONED_SESSIONS

# Each poisoned session twice: (EHLO name, MAIL FROM line, RCPT TO line, message).
POISONS = POISONED_SESSIONS * 2


def poisoned_session(server, inbox, context, poison, start, replies):
    """One session that sends `poison` with raw command bytes; records the DATA reply code."""
    ehlo, mail_from, rcpt_to, message = poison
    with smtplib.SMTP(server.host, server.starttls_port, timeout=60) as client:
        client.starttls(context=context)
        client.send(b"EHLO " + ehlo + b"\r\n")
        client.getreply()
        client.ehlo_resp, client.does_esmtp = b"", True
        client.esmtp_features = {"auth": "PLAIN LOGIN"}
        client.login(inbox.smtp_username, inbox.smtp_password)
        for line in (mail_from, rcpt_to):
            client.send(line + b"\r\n")
            code, reply = client.getreply()
            if code >= 400:
                replies.append(code)
                return
        start.wait(30)
        code, _ = client.data(message)
        replies.append(code)


def normal_session(server, inbox, context, number, start, replies):
    message = EmailMessage()
    message["From"] = "app@team-b.test"
    message["To"] = "user@team-b.test"
    message["Subject"] = f"normal {number}"
    message.set_content("Nothing wrong with this one.")
    with smtplib.SMTP(server.host, server.starttls_port, timeout=60) as client:
        client.starttls(context=context)
        client.login(inbox.smtp_username, inbox.smtp_password)
        client.mail("app@team-b.test")
        client.rcpt("user@team-b.test")
        start.wait(30)
        code, reply = client.data(message.as_bytes())
        replies.append(code)


def test_poisoned_sessions_do_not_fail_another_teams_mail(smtp_server, inbox, client_tls_context):
    other_team = Inbox.objects.create(team=Team.objects.create(name="Team B"), name="B")
    poisoned_replies, normal_replies = [], []
    # Everybody says DATA at once, so poisoned and normal messages share group commits.
    start = threading.Barrier(len(POISONS) + 10)
    threads = [
        threading.Thread(
            target=poisoned_session, args=(smtp_server, inbox, client_tls_context, poison, start, poisoned_replies)
        )
        for poison in POISONS
    ] + [
        threading.Thread(
            target=normal_session, args=(smtp_server, other_team, client_tls_context, n, start, normal_replies)
        )
        for n in range(10)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert normal_replies == [250] * 10
    assert sorted(Message.objects.filter(inbox=other_team).values_list("subject", flat=True)) == sorted(
        f"normal {n}" for n in range(10)
    )
    # The poisoned ones are stored too, cleaned, each with its own outcome.
    assert poisoned_replies == [250] * len(POISONS)
    poisoned = list(Message.objects.filter(inbox=inbox))
    assert len(poisoned) == len(POISONS)
    for message in poisoned:
        strings = [message.envelope_from, message.helo, *message.envelope_to, message.subject, message.text_body]
        for text in strings:
            assert "\x00" not in text
            text.encode("utf-8")  # no lone surrogates
    deep = [message for message in poisoned if message.subject == "deep" or not message.subject]
    assert len(deep) == 4
    assert {m.envelope_from for m in poisoned} >= {"\ufffd\ufffd@poison.test", "nul\ufffd@poison.test"}


def send_raw_envelope(server, inbox, context, ehlo, mail_from, rcpt_to, message):
    with smtplib.SMTP(server.host, server.starttls_port, timeout=30) as client:
        client.starttls(context=context)
        client.send(b"EHLO " + ehlo + b"\r\n")
        client.getreply()
        client.ehlo_resp, client.does_esmtp = b"", True
        client.esmtp_features = {"auth": "PLAIN LOGIN"}
        # A failed AUTH with a NUL and invalid UTF-8 in the user name first: refused, session goes on.
        code, _ = client.docmd("AUTH", "PLAIN " + base64.b64encode(b"\x00u\x00\xff\x00ser\x00pw").decode())
        assert code in (535, 501)
        client.login(inbox.smtp_username, inbox.smtp_password)
        client.send(b"MAIL FROM:" + mail_from + b" SMTPUTF8\r\n")
        assert client.getreply()[0] == 250
        client.send(b"RCPT TO:" + rcpt_to + b"\r\n")
        assert client.getreply()[0] == 250
        code, reply = client.data(message)
        assert code == 250, reply
        return int(reply.decode().rsplit("id=", 1)[1])


def test_envelope_helo_strings_are_stored_cleaned_and_every_view_answers(
    smtp_server, inbox, owner, client_tls_context, api_key
):
    message_id = send_raw_envelope(
        smtp_server,
        inbox,
        client_tls_context,
        ehlo=b"he\x00lo\xff.test",
        mail_from=b"<s\xff\xfe-nder\x00@x.test>",
        rcpt_to=b"<r\xc3cpt\x00@x.test>",
        message=b"From: a@x.test\r\nSubject: envelope\r\n\r\nhi\r\n",
    )
    message = Message.objects.get(pk=message_id)
    assert message.envelope_from == "s\ufffd\ufffd-nder\ufffd@x.test"
    assert message.envelope_to == ["r\ufffdcpt\ufffd@x.test"]
    assert message.helo == "he\ufffdlo\ufffd.test"

    web = Client()
    web.force_login(owner)
    for url in (reverse("inboxes:inbox", args=[inbox.pk]), reverse("inboxes:message", args=[inbox.pk, message_id])):
        response = web.get(url)
        assert response.status_code == 200, url
        assert "envelope" in response.content.decode()
    api = Client(headers={"Authorization": f"Bearer {api_key(owner)}"})
    listing = api.get(f"/api/v1/inboxes/{inbox.pk}/messages/")
    assert listing.status_code == 200
    assert "s\ufffd\ufffd-nder\ufffd@x.test" in listing.content.decode()
    detail = api.get(f"/api/v1/inboxes/{inbox.pk}/messages/{message_id}/")
    assert detail.status_code == 200
    assert detail.json()["envelope_to"] == ["r\ufffdcpt\ufffd@x.test"]
