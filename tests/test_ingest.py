"""The storage function on its own: byte-exact, best-effort parsing, the cap."""

from datetime import datetime, timezone

import pytest

from inboxes.ingest import Incoming, SessionFacts, ingest_many
from inboxes.models import Message

from .conftest import ingest

FACTS = SessionFacts(mail_from="app@example.com", rcpt_tos=["a@example.com"], client_ip="127.0.0.1", helo="app")


def stored(message):
    return Message.objects.defer(None).get(pk=message.pk)


def test_rfc2047_headers_are_decoded_and_bytes_kept(inbox):
    raw = (
        b"From: =?utf-8?q?Ren=C3=A9e_M=C3=BCller?= <renee@example.com>\r\n"
        b"To: =?iso-8859-1?q?J=F6rg?= <jorg@example.com>\r\n"
        b"Subject: =?utf-8?b?0J/RgNC40LLQtdGCLCDQvNC40YAg8J+Qtg==?=\r\n"
        b"Date: Tue, 24 Nov 2026 10:00:00 +0100\r\n"
        b"Message-ID: <abc@example.com>\r\n"
        b"\r\nHello\r\n"
    )
    message = stored(ingest(inbox.pk, raw, FACTS))
    assert bytes(message.raw) == raw
    assert message.subject == "Привет, мир 🐶"
    assert message.from_header == "Renée Müller <renee@example.com>"
    assert message.to_header == "Jörg <jorg@example.com>"
    assert message.message_id == "<abc@example.com>"
    assert message.date == datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
    assert message.parse_errors == []


def test_utf8_headers_and_8bit_body_are_stored_byte_exactly(inbox):
    raw = (
        "From: Zoë <zoë@exämple.com>\r\nTo: 用户@例子.广告\r\nSubject: Größe ✓\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Grüße aus Köln — 8-bit body\r\n"
    ).encode("utf-8")
    message = stored(ingest(inbox.pk, raw, FACTS))
    assert bytes(message.raw) == raw
    assert message.subject == "Größe ✓"
    assert message.to_header == "用户@例子.广告"
    assert "Grüße aus Köln" in message.text_body


def test_latin1_body_is_decoded_by_its_charset(inbox):
    raw = b"Subject: Latin\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nCaf\xe9 cr\xe8me\r\n"
    message = stored(ingest(inbox.pk, raw, FACTS))
    assert bytes(message.raw) == raw
    assert message.text_body.startswith("Café crème")


def test_broken_mime_is_stored_with_the_problems_noted(inbox):
    raw = (
        b"Subject: Broken\r\nDate: not a date\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="missing"\r\n\r\n'
        b"no boundary ever appears\r\n\xff\xfe binary junk \x00\r\n"
    )
    message = stored(ingest(inbox.pk, raw, FACTS))
    assert bytes(message.raw) == raw
    assert message.subject == "Broken"
    assert message.date is None
    assert any("not a valid date" in error for error in message.parse_errors)
    assert any("Boundary" in error for error in message.parse_errors)


def test_garbage_without_headers_is_still_stored(inbox):
    raw = b"\x00\x01\x02 this is not an email at all\r\n"
    message = stored(ingest(inbox.pk, raw, FACTS))
    assert bytes(message.raw) == raw
    assert message.size == len(raw)


def test_long_lines_are_flagged(inbox):
    long_line = b"x" * 1500
    message = ingest(inbox.pk, b"Subject: Long\r\n\r\n" + long_line + b"\r\n", FACTS)
    assert message.has_long_lines
    assert not ingest(inbox.pk, b"Subject: Short\r\n\r\n" + b"x" * 998 + b"\r\n", FACTS).has_long_lines


def test_html_only_message_is_searchable_as_text(inbox):
    raw = b"Subject: HTML\r\nContent-Type: text/html\r\n\r\n<p>Reset <a href='https://x.example/r'>here</a></p>\r\n"
    message = ingest(inbox.pk, raw, FACTS)
    assert message.text_body.strip() == "Reset here"


def test_attachment_is_noticed(inbox):
    raw = (
        b'Subject: Att\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nSee attached\r\n"
        b'--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="a.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n"
    )
    message = ingest(inbox.pk, raw, FACTS)
    assert message.has_attachments
    assert message.text_body.strip() == "See attached"


def test_cap_removes_the_oldest_in_the_same_transaction(inbox):
    inbox.max_messages = 3
    inbox.save()
    for n in range(5):
        ingest(inbox.pk, f"Subject: {n}\r\n\r\nx\r\n".encode(), FACTS)
    assert list(Message.objects.filter(inbox=inbox).newest_first().values_list("subject", flat=True)) == ["4", "3", "2"]


def test_a_batch_larger_than_the_cap_keeps_the_newest(inbox, team):
    inbox.max_messages = 2
    inbox.save()
    other = team.inboxes.create(name="Other")
    items = [Incoming(inbox.pk, f"Subject: {n}\r\n\r\n".encode(), FACTS) for n in range(4)]
    items.insert(1, Incoming(other.pk, b"Subject: other\r\n\r\n", FACTS))
    messages = ingest_many(items)
    assert [m.subject for m in messages] == ["0", "other", "1", "2", "3"]
    assert [m.seq for m in messages] == [1, 1, 2, 3, 4]
    assert sorted(Message.objects.filter(inbox=inbox).values_list("subject", flat=True)) == ["2", "3"]
    assert Message.objects.filter(inbox=other).count() == 1


def test_unknown_inbox_raises_and_stores_nothing(db):
    with pytest.raises(Exception):
        ingest(999_999, b"Subject: x\r\n\r\n", FACTS)
    assert not Message.objects.exists()


def test_store_each_gives_a_failing_message_its_own_outcome(inbox):
    from inboxes.ingest import store_each

    items = [
        Incoming(inbox.pk, b"Subject: first\r\n\r\n", FACTS),
        Incoming(999_999, b"Subject: nowhere\r\n\r\n", FACTS),  # the database refuses it (no such inbox)
        Incoming(inbox.pk, b"Subject: third\r\n\r\n", FACTS),
    ]
    first, failed, third = store_each(items)
    assert isinstance(failed, Exception)
    assert [first.subject, third.subject] == ["first", "third"]
    assert sorted(Message.objects.values_list("subject", flat=True)) == ["first", "third"]
    assert [first.seq, third.seq] == [1, 2]


def test_session_strings_are_cleaned_before_storage(inbox):
    facts = SessionFacts(
        mail_from="a\udcff\x00@x.test",
        rcpt_tos=["\ud800b@x.test"],
        helo="h\x00" + "x" * 300,
        smtp_username="u\udcc3",
        client_ip="127.0.0.1",
    )
    message = stored(ingest(inbox.pk, b"Subject: s\r\n\r\n", facts))
    assert message.envelope_from == "a\ufffd\ufffd@x.test"
    assert message.envelope_to[0].endswith("b@x.test") and "\ud800" not in message.envelope_to[0]
    assert message.helo == ("h\ufffd" + "x" * 300)[:255]
    assert message.smtp_username == "u\ufffd"


def test_large_and_small_messages_stored_together_keep_their_own_bytes(inbox):
    # Large raw sources go to the database in pieces, small ones as parameters (inboxes.raw_source).
    large = b"Subject: large\r\n\r\n" + bytes(range(256)) * 1024 + b"\r\n"
    raws = [b"Subject: small\r\n\r\none\r\n", large, b"Subject: small\r\n\r\ntwo\r\n", large[::-1], b""]
    messages = ingest_many([Incoming(inbox.pk, raw, FACTS) for raw in raws])
    assert [bytes(stored(message).raw) for message in messages] == raws
    assert [stored(message).size for message in messages] == [len(raw) for raw in raws]


def test_loading_the_source_of_a_missing_message_says_so(db):
    from inboxes.models import Message
    from inboxes.raw_source import load_raw

    with pytest.raises(Message.DoesNotExist):
        load_raw(987654321)
