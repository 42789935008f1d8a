"""Search: the query language, the index on this database, the page and the API giving the same answers.

Runs on whichever database the suite uses (SQLite's FTS5 table or PostgreSQL's
tsvector column); messages are stored through the real ingest path. On
PostgreSQL the corpus is searched twice: as ingest leaves it (words still to be
written, read from the rows) and after the indexer wrote them (the GIN index).
"""

import re
from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils.safestring import mark_safe

from inboxes.models import Inbox, Message
from inboxes.search import QueryError, index, indexer, parse, search
from inboxes.templatetags.search_tags import highlight

from .conftest import store_message

pytestmark = pytest.mark.django_db


def raw(subject, sender="app@example.com", to="alice@example.com", body="Hello", cc=None, extra="", message_id=None):
    headers = f"From: {sender}\r\nTo: {to}\r\n" + (f"Cc: {cc}\r\n" if cc else "") + f"Subject: {subject}\r\n"
    if message_id:
        headers += f"Message-ID: {message_id}\r\n"
    return (headers + extra + "\r\n" + body + "\r\n").encode()


ATTACHED = (
    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    "--b\r\nContent-Type: text/plain\r\n\r\nYour invoice is attached. Thank you for your order.\r\n"
    "--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=invoice-0042.pdf\r\n\r\n"
    "JVBERi0=\r\n--b--"
)


# PostgreSQL: searched before the indexer wrote the words ("waiting") and after ("indexed").
INDEXING = ["waiting", "indexed"] if connection.vendor == "postgresql" else ["in the ingest transaction"]


@pytest.fixture(params=INDEXING)
def corpus(request, inbox):
    """Four messages that tell the operators apart, and one in another inbox."""
    reset = store_message(
        inbox,
        raw(
            "Reset your password",
            sender="Ann Lee <ann.lee@shop.example>",
            to="bob@example.com",
            cc="Carol King <carol@example.com>",
            body="Your reset code is 482913. It expires in 10 minutes.",
        ),
        rcpt_tos=["bob@example.com", "carol@example.com"],
    )
    invoice = store_message(
        inbox,
        b"From: Acme Billing <billing@acme.example>\r\nTo: ann@example.com\r\nSubject: Invoice INV-0042 from Acme\r\n"
        + ATTACHED.encode(),
        mail_from="billing@acme.example",
        rcpt_tos=["ann@example.com"],
    )
    digest = store_message(
        inbox,
        raw(
            "Weekly digest",
            sender="news@hooli.example",
            to="list@example.com",
            extra="Content-Type: text/html\r\n",
            body="<p>Your order has <b>shipped</b> today.</p>" + "<!-- padding -->" * 200,
        ),
        mail_from="news@hooli.example",
        rcpt_tos=["hidden@example.com"],
    )
    cafe = store_message(
        inbox,
        raw(
            "Café déjà vu",
            sender="noreply@globex.example",
            body="Unicode words: naïve façade & <tags>",
            message_id="<abc-123@globex.example>",
        ),
    )
    Message.objects.filter(pk=reset.pk).update(is_read=True)
    Message.objects.filter(pk=invoice.pk).update(deliverability_verdict="fail")
    Message.objects.filter(pk=cafe.pk).update(received_at=datetime(2024, 5, 1, 12, 0, tzinfo=dt_timezone.utc))
    other = Inbox.objects.create(team=inbox.team, name="Other")
    store_message(other, raw("Reset your password elsewhere", body="reset 482913 order invoice"))
    if request.param == "indexed":
        assert indexer.index_all_pending() == 5
    return {"reset": reset, "invoice": invoice, "digest": digest, "cafe": cafe}


CASES = [
    ("reset", {"reset"}),
    ("RESET", {"reset"}),
    ("482913", {"reset"}),
    ("4829", {"reset"}),  # words with digits match as the beginning of a word (codes)
    ("4829*", {"reset"}),
    ("pass*", {"reset"}),
    ("pass", set()),  # other words match whole
    ("password reset", {"reset"}),
    ('"reset your password"', {"reset"}),
    ('"password your"', set()),
    ("from:ann", {"reset"}),  # display names and addresses, not recipients
    ("from:ann.lee@shop.example", {"reset"}),
    ("from:ANN.LEE@Shop.Example", {"reset"}),  # a whole address is one word of the index, any case
    ('from:"billing@acme.example"', {"invoice"}),  # quoted: the words in a row
    ('from:"lee@shop.example"', {"reset"}),
    ("from:lee@shop.example", set()),  # another address, not the tail of ann.lee@shop.example
    ("from:app@example.com", {"reset", "cafe"}),  # the envelope sender counts as a sender
    ("-from:billing@acme.example", {"reset", "digest", "cafe"}),
    ("to:carol@example.com", {"reset"}),  # Cc and envelope
    ("to:hidden@example.com has:attachment", set()),
    ("from:billing@acme.example has:attachment", {"invoice"}),
    ("from:billing", {"invoice"}),
    ("from:acme", {"invoice"}),
    ("to:carol", {"reset"}),  # Cc
    ("to:ann", {"invoice"}),
    ("to:hidden@example.com", {"digest"}),  # envelope recipient only (Bcc)
    ("subject:invoice", {"invoice"}),
    ("subject:attached", set()),
    ("body:attached", {"invoice"}),
    ("pdf", {"invoice"}),  # attachment file name
    ('"invoice 0042 pdf"', {"invoice"}),
    ("0042", {"invoice"}),
    ("shipped", {"digest"}),  # an HTML-only body's text
    ('"order has shipped"', {"digest"}),
    ("order", {"invoice", "digest"}),
    ("-order", {"reset", "cafe"}),
    ("order -invoice", {"digest"}),
    ("-from:billing -from:news", {"reset", "cafe"}),
    ("has:attachment", {"invoice"}),
    ("-has:attachment", {"reset", "digest", "cafe"}),
    ("is:read", {"reset"}),
    ("is:unread", {"invoice", "digest", "cafe"}),
    ("before:2025-01-01", {"cafe"}),
    ("after:2025-01-01", {"reset", "invoice", "digest"}),
    ("after:2024-05-01T11:00:00Z before:2024-05-01T13:00:00Z", {"cafe"}),
    ("after:2024-05-01T12:30:00+00:00", {"reset", "invoice", "digest"}),
    ("size:>2kb", {"digest"}),
    ("size:<2kb", {"reset", "invoice", "cafe"}),
    ("dmarc:fail", {"invoice"}),
    ("-dmarc:fail", {"reset", "digest", "cafe"}),
    ("dmarc:pending", {"reset", "digest", "cafe"}),
    ("id:<abc-123@globex.example>", {"cafe"}),
    ("id:abc-123@globex.example", {"cafe"}),
    ("café", {"cafe"}),
    ("CAFÉ façade", {"cafe"}),
    ("re:reset", set()),  # not an operator: the words "re reset" in a row
    ('from:billing has:attachment "your invoice" is:unread dmarc:fail', {"invoice"}),
    ("from:billing is:read", set()),
    ("zqxv", set()),
    ("", {"reset", "invoice", "digest", "cafe"}),
]


def names(corpus, ids):
    by_id = {message.pk: name for name, message in corpus.items()}
    return {by_id[i] for i in ids}


@pytest.mark.parametrize("query, expected", CASES)
def test_every_operator_on_this_database(corpus, inbox, query, expected):
    found = search(inbox.pk, query)
    assert names(corpus, found.page(limit=50)) == expected
    assert names(corpus, found.queryset().values_list("pk", flat=True)) == expected
    assert found.count() == (len(expected), False)


@pytest.fixture
def api(member, api_key):
    return Client(headers={"Authorization": f"Bearer {api_key(member)}"})


def page_ids(client, inbox, query):
    response = client.get(reverse("inboxes:inbox", args=[inbox.pk]), {"q": query})
    assert response.status_code == 200
    return [
        int(i)
        for i in re.findall(r'<tr class="message-row[^"]*" data-seq="\d+" data-id="(\d+)"', response.content.decode())
    ]


@pytest.mark.parametrize("query, expected", CASES)
def test_page_and_api_give_the_same_results(corpus, inbox, member_client, api, query, expected):
    on_page = page_ids(member_client, inbox, query)
    response = api.get(reverse("api:message-list", args=[inbox.pk]), {"q": query})
    assert response.status_code == 200, response.content
    from_api = [item["id"] for item in response.json()["results"]]
    assert on_page == from_api  # same messages, same order (newest first)
    assert names(corpus, on_page) == expected


MALFORMED = [
    ('"unclosed phrase', "not closed"),
    ("has:pets", "has:attachment"),
    ("is:maybe", "is:read"),
    ("before:yesterday", "date"),
    ("after:2024-13-45", "date"),
    ("size:big", "size"),
    ("size:>1zb", "size"),
    ("dmarc:bogus", "pass, fail"),
    ("from:", "needs a value"),
    ("from: ann", "needs a value"),
    ("-", "lone -"),
    ('""', "empty phrase"),
    ("@@@", "letters or digits"),
    ("id:<>", "Message-ID"),
    ("x" * 501, "too long"),
    (" ".join(f"w{n}" for n in range(21)), "Too many terms"),
    ("a" * 101, "too long"),
]


@pytest.mark.parametrize("query, message", MALFORMED)
def test_malformed_queries_say_why(query, message):
    with pytest.raises(QueryError, match=re.escape(message)):
        parse(query)


@pytest.mark.parametrize("query, message", MALFORMED[:6])
def test_malformed_query_on_the_page_and_in_the_api(corpus, inbox, member_client, api, query, message):
    response = member_client.get(reverse("inboxes:inbox", args=[inbox.pk]), {"q": query})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="search-error"' in body and message in body.replace("&quot;", '"').replace("&#x27;", "'")
    assert not re.search(r'data-id="\d+"', body)  # no rows under an error
    response = api.get(reverse("api:message-list", args=[inbox.pk]), {"q": query})
    assert response.status_code == 400 and message in response.json()["q"]
    response = api.get(reverse("api:message-wait", args=[inbox.pk]), {"q": query, "timeout": "0"})
    assert response.status_code == 400 and message in response.json()["q"]


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "'",
        "\\",
        "NEAR(a b)",
        "a OR b",
        "{subject}: x",
        "col:x",
        "*",
        "a*b*",
        "(a",
        ")",
        "^x",
        "x:y:z",
        "\x00",
        '-"x"',
        "id:'; DROP TABLE x;--",
        "size:>99999999999999999999mb",
        "after:9999-12-31",
        "\u202e\u0000",
        "ä" * 50,
    ],
)
def test_hostile_queries_never_500(corpus, inbox, member_client, api, query):
    assert member_client.get(reverse("inboxes:inbox", args=[inbox.pk]), {"q": query}).status_code == 200
    assert api.get(reverse("api:message-list", args=[inbox.pk]), {"q": query}).status_code in (200, 400)


def test_api_field_filters_are_terms_of_the_same_query(corpus, inbox, api):
    url = reverse("api:message-list", args=[inbox.pk])
    subjects = lambda params: {item["subject"] for item in api.get(url, params).json()["results"]}  # noqa: E731
    assert subjects({"to": "carol@example"}) == {"Reset your password"}
    assert subjects({"from": "billing@"}) == {"Invoice INV-0042 from Acme"}
    assert subjects({"subject": "reset your"}) == {"Reset your password"}
    assert subjects({"text": "expires in 10 min"}) == {"Reset your password"}  # last word cut short
    assert subjects({"q": "has:attachment", "from": "acme"}) == {"Invoice INV-0042 from Acme"}
    assert api.get(url, {"to": "@@"}).status_code == 400


def test_count_is_exact_then_capped(inbox, corpus):
    found = search(inbox.pk, "order")
    assert found.count() == (2, False)
    assert found.count(cap=1) == (1, True)


def test_page_shows_the_count_and_highlights(corpus, inbox, member_client):
    response = member_client.get(reverse("inboxes:inbox", args=[inbox.pk]), {"q": "reset from:ann"})
    body = response.content.decode()
    assert '<p class="search-count muted small" id="search-count">1 result</p>' in body
    assert "<mark>Reset</mark> your password" in body
    assert "<mark>Ann</mark> Lee &lt;<mark>ann</mark>.lee@shop.example&gt;" in body
    assert "2 results" in member_client.get(reverse("inboxes:inbox", args=[inbox.pk]), {"q": "order"}).content.decode()


def test_highlight_escapes_first_then_marks():
    words = parse("script reset").highlight_words
    assert highlight('<script>alert("reset")</script>', words) == (
        "&lt;<mark>script</mark>&gt;alert(&quot;<mark>reset</mark>&quot;)&lt;/<mark>script</mark>&gt;"
    )
    assert highlight("Reset & <b>", []) == "Reset &amp; &lt;b&gt;"
    assert highlight("resetting", parse("reset*").highlight_words) == "<mark>resetting</mark>"
    # Text that says "&amp;" has the word amp; already escaped text (join's output) does not.
    assert highlight("a &amp; b", parse("amp").highlight_words) == "a &amp;<mark>amp</mark>; b"
    assert highlight(mark_safe("a &amp; b"), parse("amp").highlight_words) == "a &amp; b"
    assert highlight("code 482913", parse("-482913").highlight_words) == "code 482913"


def test_keyset_pages_through_search_results(inbox, member_client):
    for n in range(120):
        store_message(inbox, raw(f"Order {n:03d}" if n % 2 else f"Other {n:03d}", body="order" if n % 2 else "x"))
    found = search(inbox.pk, "order")
    first = found.page(limit=50)
    by_id = dict(Message.objects.values_list("pk", "seq"))
    second = found.page(before_seq=by_id[first[-1]], limit=50)
    assert len(first) == 50 and len(second) == 10
    assert [by_id[i] for i in first + second] == sorted((by_id[i] for i in first + second), reverse=True)
    back = found.page(after_seq=by_id[second[0]], limit=50)  # oldest first
    assert back == list(reversed(first))
    body = member_client.get(reverse("inboxes:inbox", args=[inbox.pk]), {"q": "order"}).content.decode()
    assert "60 results" in body and f"before={by_id[first[-1]]}" in body


# --- The index follows the messages -------------------------------------------------


def fts_healthy():
    if connection.vendor != "sqlite":
        return True
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {index.FTS_TABLE}({index.FTS_TABLE}, rank) VALUES ('integrity-check', 0)")
    return True


def test_index_follows_ingest_cap_and_deletes(inbox, member_client, api):
    inbox.max_messages = 3
    inbox.save()
    stored = [store_message(inbox, raw(f"Alert {n}", body=f"token{n} shared")) for n in range(5)]
    # The cap removed the two oldest in the ingest transaction: they are gone from the index too.
    assert search(inbox.pk, "token0").page() == [] and search(inbox.pk, "token1").page() == []
    assert search(inbox.pk, "shared").page() == [m.pk for m in reversed(stored[2:])]
    member_client.post(reverse("inboxes:message_delete", args=[inbox.pk, stored[2].pk]))
    api.delete(reverse("api:message-detail", args=[inbox.pk, stored[3].pk]))
    assert search(inbox.pk, "shared").page() == [stored[4].pk]
    assert fts_healthy()
    # New messages reuse nothing of the deleted ones' entries.
    again = store_message(inbox, raw("Alert again", body="token2 shared"))
    assert search(inbox.pk, "token2").page() == [again.pk]
    inbox_id = inbox.pk
    inbox.delete()
    other = Inbox.objects.create(team=Inbox._meta.get_field("team").related_model.objects.first(), name="New")
    fresh = store_message(other, raw("Fresh", body="shared"))
    assert search(inbox_id, "shared").page() == [] and search(other.pk, "shared").page() == [fresh.pk]
    assert fts_healthy()


def test_retention_purge_keeps_the_index_in_step(inbox):
    from inboxes.retention import purge

    for n in range(6):
        store_message(inbox, raw(f"Note {n}", body="purgeword"))
    Inbox.objects.filter(pk=inbox.pk).update(max_messages=2)
    assert purge(0).over_cap == 4
    assert len(search(inbox.pk, "purgeword").page()) == 2
    assert fts_healthy()


def test_bulk_delete_of_a_search_result_keeps_the_index_in_step(corpus, inbox, member_client):
    response = member_client.post(
        reverse("inboxes:messages_delete", args=[inbox.pk]), {"all_matching": "1", "q": "order"}
    )
    assert response.status_code == 302
    assert set(Message.objects.filter(inbox=inbox).values_list("pk", flat=True)) == {
        corpus["reset"].pk,
        corpus["cafe"].pk,
    }
    assert search(inbox.pk, "order").page() == []
    assert fts_healthy()


def test_rebuild_command_restores_a_lost_index(corpus, inbox, capsys):
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            index.drop(connection)  # as if a table rebuild had dropped the triggers and the table
        else:
            cursor.execute(f"UPDATE {index.MESSAGE_TABLE} SET {index.PG_COLUMN} = NULL")
            index.drop(connection)
    call_command("rebuild_search_index")
    assert "rebuilt" in capsys.readouterr().out
    for query, expected in CASES[:12]:
        assert names(corpus, search(inbox.pk, query).page()) == expected, query
    store_message(inbox, raw("After the rebuild", body="postrebuild"))
    assert len(search(inbox.pk, "postrebuild").page()) == 1
    assert fts_healthy()


def test_messages_stored_outside_ingest_are_indexed_by_create(inbox):
    """Rows written by other means (an import, a test's create) get their index entries as they are saved."""
    message = Message.objects.create(
        inbox=inbox, seq=1, subject="Imported row", from_header="Imp <imp@old.example>", size=1, raw=b"x"
    )
    assert search(inbox.pk, "imported").page() == [message.pk]
    assert search(inbox.pk, "from:imp@old.example").page() == [message.pk]


def test_whole_addresses_are_single_words_within_bounds():
    from inboxes.search.document import MAX_ADDRESSES, address_words
    from inboxes.search.query import address_word

    assert address_words('"bob@x" <Bob@Y.example>, q@z.') == ["bobq40qx", "bobq40qyq2eqexample", "qqq40qz"]
    assert address_word("ünï@x.example") == "qfcqnqefqq40qxq2eqexample"
    many = ", ".join(f"user{n}@example.com" for n in range(MAX_ADDRESSES * 4))
    assert len(address_words(many)) == MAX_ADDRESSES
    assert address_words("no address here") == []
    # PostgreSQL: the whole addresses and the attachment flag are words of their own, without positions.
    from inboxes.search.document import flags

    assert flags("A <a@x.example>", "b@x.example", "c@y.example", "", ["c@y.example"], True) == [
        "from:aq40qxq2eqexample",
        "from:bq40qxq2eqexample",
        "to:cq40qyq2eqexample",
        "has:attachment",
    ]
    assert flags("", "", "", "", [], False) == []
    # The query highlights the address's words, not the index's spelling of it.
    assert parse("from:ann@shop.example").highlight_words == [("ann", False), ("shop", False), ("example", False)]


def test_a_hostile_header_without_usable_addresses_is_read_in_one_pass(inbox):
    """A long run with an '@' only after a delimiter made an address pattern backtrack from every
    position in the run (quadratic: a 1 MB run would take a quarter of an hour); read run by run."""
    from inboxes.search.document import address_words

    assert address_words("x" * 1_000_000 + " @") == []
    assert address_words("x" * 1_000_000 + "@y") == []  # an address longer than any word of the index
    hostile = ("To: " + "x" * 60_000 + " @, ann@shop.example\r\nSubject: hostile\r\n\r\nbody\r\n").encode()
    message = store_message(inbox, hostile)
    assert search(inbox.pk, "to:ann@shop.example").page() == [message.pk]


# --- Bulk actions on a whole result and on nothing -----------------------------------


def test_select_all_matching_marks_read_across_pages(inbox, member_client):
    for n in range(60):
        store_message(inbox, raw(f"Mail {n}", body="receipt" if n < 55 else "other"))
    url = reverse("inboxes:messages_mark", args=[inbox.pk, "read"])
    back = reverse("inboxes:inbox", args=[inbox.pk]) + "?q=receipt"
    response = member_client.post(url, {"all_matching": "1", "q": "receipt", "next": back}, follow=True)
    assert Message.objects.filter(is_read=True).count() == 55
    assert "Marked 55 messages read." in response.content.decode()


def test_select_all_matching_on_a_page_offers_the_count(inbox, member_client):
    for n in range(55):
        store_message(inbox, raw(f"Receipt {n}", body="receipt"))
    body = member_client.get(reverse("inboxes:inbox", args=[inbox.pk]), {"q": "receipt"}).content.decode()
    assert 'data-total="55"' in body and 'data-more="1"' in body
    assert "Select all 55 messages matching “receipt”" in body
    assert '<input type="hidden" name="q" value="receipt" form="bulk">' in body


def test_select_all_matching_with_a_malformed_query_changes_nothing(corpus, inbox, member_client):
    response = member_client.post(
        reverse("inboxes:messages_delete", args=[inbox.pk]), {"all_matching": "1", "q": "has:pets"}, follow=True
    )
    assert Message.objects.filter(inbox=inbox).count() == 4
    assert "Nothing was changed" in response.content.decode()


def outsider_browser(outsider):
    client = Client()  # member_client and outsider_client share one test client
    client.force_login(outsider)
    return client


def test_select_all_matching_stays_in_its_inbox(corpus, inbox, member_client, outsider):
    url = reverse("inboxes:messages_delete", args=[inbox.pk])
    assert outsider_browser(outsider).post(url, {"all_matching": "1", "q": "reset"}).status_code == 404
    member_client.post(url, {"all_matching": "1", "q": "reset"})
    assert Message.objects.filter(subject="Reset your password elsewhere").exists()


def test_delete_with_nothing_selected_says_so(corpus, inbox, member_client):
    for action in (
        reverse("inboxes:messages_delete", args=[inbox.pk]),
        reverse("inboxes:messages_mark", args=[inbox.pk, "read"]),
    ):
        response = member_client.post(action, {}, follow=True)
        body = response.content.decode()
        assert "No messages selected." in body and "Deleted 0" not in body and "Marked 0" not in body
    assert Message.objects.filter(inbox=inbox).count() == 4


# --- Live insertion: which new messages match the open search ------------------------


def test_matches_endpoint_answers_for_the_open_query(corpus, inbox, member_client, outsider):
    url = reverse("inboxes:search_matches", args=[inbox.pk])
    ids = ",".join(str(m.pk) for m in corpus.values())
    answer = member_client.get(url, {"q": "order", "ids": ids}).json()
    assert answer["ids"] == sorted([corpus["invoice"].pk, corpus["digest"].pk])
    assert answer["words"] == ["order"] and answer["prefixes"] == []
    assert member_client.get(url, {"q": "ord* 4829", "ids": ids}).json()["prefixes"] == ["ord", "4829"]
    foreign = Message.objects.get(subject="Reset your password elsewhere")
    assert member_client.get(url, {"q": "reset", "ids": str(foreign.pk)}).json()["ids"] == []
    assert member_client.get(url, {"q": "has:pets", "ids": ids}).status_code == 400
    assert outsider_browser(outsider).get(url, {"q": "order", "ids": ids}).status_code == 404
    assert member_client.post(url, {"q": "order"}).status_code == 405


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL bounds the count's time")
def test_count_too_costly_falls_back_to_a_smaller_cap(corpus, inbox, monkeypatch):
    from inboxes.search.backend import Search

    counted = Search.count

    def slow_for_the_big_cap(self, cap=10_000):
        if cap == 10_000:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(1)")
        return counted(self, cap)

    monkeypatch.setattr(Search, "count", slow_for_the_big_cap)
    assert search(inbox.pk, "order").bounded_count(budget_ms=100) == (2, False)
    assert search(inbox.pk, "order").bounded_count(caps=(10_000,), budget_ms=100) is None
    with connection.cursor() as cursor:  # the timeout was local to the attempt
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL bounds the count's time")
def test_a_common_phrase_is_counted_from_the_smaller_cap(inbox, monkeypatch):
    from inboxes.search.backend import Search

    for n in range(3):
        store_message(inbox, raw(f"Shipped {n}", body="your order has shipped"))
    tried = []
    counted = Search.count

    def recording(self, cap=10_000):
        tried.append(cap)
        return counted(self, cap)

    monkeypatch.setattr(Search, "count", recording)
    phrase = search(inbox.pk, '"order has shipped"')
    phrase.page(limit=2)  # fills its page inside the window: common
    assert phrase.common
    assert phrase.bounded_count() == (3, False) and tried == [1_000]
    word = search(inbox.pk, "shipped")
    word.page(limit=2)
    tried.clear()
    assert word.bounded_count() == (3, False) and tried == [10_000]


def test_migrate_puts_back_an_index_a_table_rebuild_dropped(corpus, inbox):
    index.drop(connection)  # what rebuilding the message table does to SQLite's triggers
    call_command("migrate", verbosity=0)  # nothing to apply: post_migrate still checks the index
    assert names(corpus, search(inbox.pk, "reset").page()) == {"reset"}
    fresh = store_message(inbox, raw("After migrate", body="postmigrate"))
    assert search(inbox.pk, "postmigrate").page() == [fresh.pk]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's two-step page")
def test_postgres_page_across_its_window(inbox, monkeypatch):
    from inboxes.search import backend

    monkeypatch.setattr(backend, "WINDOW", 7)
    for n in range(40):
        store_message(inbox, raw(f"Mail {n}", body="common" + (" rare" if n in (3, 17, 30) else "")))
    by_id = dict(Message.objects.values_list("pk", "seq"))
    for query in ("common", "rare", "common -rare"):
        found = search(inbox.pk, query)
        everything = list(found.queryset().order_by("-seq").values_list("pk", flat=True))
        pages, before = [], None
        while True:
            page = found.page(before_seq=before, limit=4)
            if not page:
                break
            pages += page
            before = by_id[page[-1]]
        assert pages == everything, query
        assert found.page(after_seq=by_id[everything[-1]], limit=100) == list(reversed(everything[:-1]))


def test_a_hostile_message_is_stored_and_searchable_within_the_index_limits(inbox):
    """Many distinct long words: PostgreSQL refuses a tsvector over 1 MB, so what is indexed is bounded."""
    words = " ".join(f"w{n:05d}" + "x" * 400 for n in range(240))
    subject = " ".join(f"s{n}" + "y" * 300 for n in range(300))
    stored = store_message(inbox, raw(subject, body=words))
    assert stored.pk is not None
    assert search(inbox.pk, "w00000" + "x" * 90).page() == [stored.pk]  # the beginning of a long word
    assert search(inbox.pk, "w00239*").page() == [stored.pk]
    from inboxes.search.document import MAX_VECTOR_TEXT, fields, tsvector

    assert len(tsvector(fields(subject * 20, "", "", "", "", [], words * 20, ""))) <= MAX_VECTOR_TEXT


postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's indexer (SQLite indexes in the ingest transaction)"
)


def stored_vector(message_id):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {index.PG_COLUMN}::text FROM {index.MESSAGE_TABLE} WHERE id = %s", [message_id])
        return cursor.fetchone()[0]


@postgres_only
def test_each_word_is_written_once_with_its_positions_as_postgresql_reads_them():
    from inboxes.search.document import MAX_POSITIONS, fields, tsvector

    text = tsvector(fields("Reset reset", "Ann", "", "", "", [], "reset code reset", ""), ["has:attachment"])
    assert text == "'has:attachment' 'reset':1A,2A,6,8 'ann':4B 'code':7"
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::tsvector::text", [text])
        assert cursor.fetchone()[0] == "'ann':4B 'code':7 'has:attachment' 'reset':1A,2A,6,8"
        many = tsvector(fields("", "", "", "", "", [], "again " * 300, ""))
        cursor.execute("SELECT length(%s::tsvector), array_length(tsvector_to_array(%s::tsvector), 1)", [many, many])
        assert cursor.fetchone() == (1, 1)
        cursor.execute("SELECT %s::tsvector::text", [many])
        assert cursor.fetchone()[0].count(",") == MAX_POSITIONS - 1


@postgres_only
def test_ingest_leaves_the_words_to_the_indexer_which_writes_what_ingest_would_have(inbox):
    from inboxes.search.document import message_tsvector

    stored = store_message(inbox, raw("Shipping label", sender="Dock <dock@port.example>", body="parcel 7731"))
    assert stored_vector(stored.pk) is None
    assert search(inbox.pk, "parcel from:dock@port.example").page() == [stored.pk]  # found all the same
    assert indexer.index_all_pending() == 1 and indexer.index_all_pending() == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::tsvector::text", [message_tsvector(Message.objects.get(pk=stored.pk))])
        assert stored_vector(stored.pk) == cursor.fetchone()[0]
    assert search(inbox.pk, "parcel from:dock@port.example").page() == [stored.pk]
    assert search(inbox.pk, "-parcel").page() == []


@postgres_only
def test_waiting_and_indexed_messages_are_found_together_newest_first(inbox, member_client, api):
    first = [store_message(inbox, raw(f"Batch {n}", body="mixedword")) for n in range(3)]
    indexer.index_all_pending()
    later = [store_message(inbox, raw(f"Later {n}", body="mixedword")) for n in range(2)]
    newest_first = [m.pk for m in reversed(first + later)]
    found = search(inbox.pk, "mixedword")
    assert found.page() == newest_first
    assert found.count() == (5, False)
    assert sorted(found.matching([later[0].pk, first[0].pk])) == sorted([later[0].pk, first[0].pk])
    assert page_ids(member_client, inbox, "mixedword") == newest_first
    response = api.get(reverse("api:message-list", args=[inbox.pk]), {"q": "mixedword"})
    assert [item["id"] for item in response.json()["results"]] == newest_first


@postgres_only
def test_a_search_reads_a_bounded_number_of_waiting_messages(inbox, monkeypatch):
    monkeypatch.setattr(indexer, "PENDING_LIMIT", 4)
    monkeypatch.setattr(indexer, "PENDING_CHUNK", 2)
    stored = [store_message(inbox, raw(f"Flood {n}", body="floodword")) for n in range(7)]
    # The newest four waiting messages are read; older ones are found once the indexer reaches them.
    assert search(inbox.pk, "floodword").page() == [m.pk for m in reversed(stored[3:])]
    indexer.index_all_pending()
    assert search(inbox.pk, "floodword").page() == [m.pk for m in reversed(stored)]


@postgres_only
@pytest.mark.django_db(transaction=True)  # the other connection must see the rows
def test_the_indexer_skips_rows_another_transaction_holds(inbox):
    """Two indexers (or an indexer and a deletion) never wait for each other: locked rows are left for later."""
    from django.db import connections

    held = store_message(inbox, raw("Held", body="heldword"))
    free = store_message(inbox, raw("Free", body="freeword"))
    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {index.MESSAGE_TABLE} WHERE id = %s FOR UPDATE", [held.pk])
            assert indexer.index_pending() == 1
        other.rollback()
    finally:
        other.close()
    assert stored_vector(free.pk) is not None and stored_vector(held.pk) is None
    assert indexer.index_pending() == 1 and stored_vector(held.pk) is not None


@postgres_only
def test_the_smtp_process_runs_the_indexer_unless_the_checks_process_does(settings):
    settings.MAILDOG_AUTH_CHECKS = True
    settings.MAILDOG_AUTH_CHECKS_PROCESS = False
    assert indexer.runs_here_for_smtp()
    settings.MAILDOG_AUTH_CHECKS_PROCESS = True
    assert not indexer.runs_here_for_smtp()
    settings.MAILDOG_AUTH_CHECKS = False  # no runchecks process then: the SMTP process indexes
    assert indexer.runs_here_for_smtp()


@postgres_only
def test_waiting_messages_words_go_to_the_database_in_bounded_statements(inbox, monkeypatch):
    """A batch of hostile messages (each with the most words a tsvector may hold) is split, not sent whole."""
    monkeypatch.setattr(indexer, "STATEMENT_CHARS", 50_000)
    big = " ".join(f"w{n:05d}" + "x" * 40 for n in range(1800))  # 84,600 characters (a text body keeps 100,000)
    stored = [store_message(inbox, raw(f"Big {n}", body=big + f" mark{n}")) for n in range(3)]
    sent = []
    original = indexer._in_statements

    def recording(rows):
        for ids, vectors in original(rows):
            sent.append(sum(map(len, vectors)))
            yield ids, vectors

    monkeypatch.setattr(indexer, "_in_statements", recording)
    assert search(inbox.pk, "mark1").page() == [stored[1].pk]  # read from the rows, in three statements
    assert len(sent) == 3 and all(size < 200_000 for size in sent)
    sent.clear()
    assert indexer.index_all_pending() == 3 and len(sent) == 3
    assert search(inbox.pk, "mark2 w01799" + "x" * 40).page() == [stored[2].pk]


@postgres_only
def test_a_message_whose_words_cannot_be_made_holds_up_no_other(inbox, monkeypatch, caplog):
    from inboxes.search import index as search_index

    good = store_message(inbox, raw("Fine", body="goodword"))
    bad = store_message(inbox, raw("Broken", body="badword"))
    building = search_index.row_vector

    def failing_for_bad(row):
        if row[0] == bad.pk:
            raise ValueError("a bug meeting a message nobody foresaw")
        return building(row)

    monkeypatch.setattr(search_index, "row_vector", failing_for_bad)
    assert search(inbox.pk, "goodword").page() == [good.pk]  # the search still answers
    assert indexer.index_all_pending() == 2 and indexer.index_all_pending() == 0  # not retried forever
    assert "could not be made" in caplog.text
    assert stored_vector(good.pk) is not None and stored_vector(bad.pk) == ""
    assert search(inbox.pk, "goodword").page() == [good.pk]
