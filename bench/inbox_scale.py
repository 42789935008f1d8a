"""One inbox of a million messages: the list and search pages' server time, and what the index costs ingest.

Fills one inbox with `--count` realistic messages (varied senders and display
names, subjects from a dozen kinds of application mail, 1-2 KB text bodies
with order numbers, codes and tracking tokens, a fifth with attachments; about
3 KB each, raw source included), written in bulk straight into the database
(no SMTP), with the search index kept by the same triggers / generated column
as in production. Then, through Django's test client as a signed-in member,
it times each kind of page `--queries` times (at least 20 different queries
per kind, after one warm-up pass) and prints p50/p95 against the budgets:
the list < 50 ms, every search < 200 ms.

Ingest: before the fill, `inboxes.ingest.ingest_many` (parse, insert, cap,
commit; groups of 20: what the SMTP process does before its 250s) stores the
same messages with the index and without it (the triggers and FTS5 table, or
the GIN index, dropped and no search words computed), in alternating pairs of rounds: the
index's work seen whole. Its budget, at most 10% of ingest, is on what users see, SMTP
ingest end to end, which `bench/index_cost.py` measures. On PostgreSQL the search words are
written after the 250 by the indexer (`inboxes.search.indexer`, in
`runchecks`): its own rate is printed beside.

SQLite in a fresh data directory by default; DATABASE_URL picks PostgreSQL
(an empty database: the bench migrates it and fills it).

    python bench/inbox_scale.py --count 1000000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/maildog_bench python bench/inbox_scale.py --count 1000000
"""

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIST_BUDGET_MS = 50
SEARCH_BUDGET_MS = 200
INGEST_BUDGET = 0.10

FIRST = (
    "ann bob carol dave erin frank grace heidi ivan judy mallory nina oscar peggy rupert sybil trent victor "
    "walter yolanda"
).split()
LAST = "lee smith garcia chen novak muller rossi kowalski dubois tanaka okafor silva nguyen jensen ivanova".split()
DOMAINS = [
    f"{name}.example"
    for name in (
        "shop acme billing globex initech umbrella hooli stark wayne wonka cyberdyne soylent tyrell aperture "
        "vandelay gringotts oscorp dunder massive pied"
    ).split()
]
SERVICE_SENDERS = ["billing", "noreply", "support", "orders", "security", "news", "team", "alerts", "accounts", "hello"]
WORDS = (
    "the you your to and of a for is in on this that we with account please order be it our if are have "
    "not will can from as at by information team thank message email link below service help any more "
    "contact us update new time click here more details receive get use all review support store item "
    "delivery payment invoice total amount due date shipping address password reset security notice "
    "confirm verify subscription plan renewal trial product feature release report weekly summary "
    "customer welcome started guide learn settings profile privacy terms policy change request received "
    "processing complete status tracking package carrier estimated arrival return refund credit card "
    "billing receipt download attached document statement period balance activity login device location "
    "browser alert unusual sign attempt code expires minutes hours days questions reply unsubscribe "
    "preferences newsletter offer discount sale limited exclusive members rewards points redeem gift"
).split()
SUBJECTS = [
    "Your order #{order} has shipped",
    "Password reset for {first}",
    "Invoice {invoice} from {company}",
    "Welcome to {company}, {first}!",
    "Your verification code is {code}",
    "Weekly digest: {word} and {word2}",
    "Receipt for your payment of ${amount}",
    "Security alert: new sign-in from {city}",
    "Your subscription will renew on {day}",
    "{first}, your {word} report is ready",
    "Action required: confirm your email address",
    "Your package is out for delivery",
]
PHRASES = [
    "your order has shipped",
    "thank you for your order",
    "reset your password",
    "your invoice is attached",
    "verify your email address",
    "your subscription will renew",
    "new sign in to your account",
    "your package is out for delivery",
    "questions reply to this email",
    "view it in your browser",
]
CITIES = "Berlin Lisbon Osaka Denver Nairobi Quito Oslo Perth Dakar Seoul Lyon Austin".split()


POOL = 20_000  # distinct body texts; each message adds lines of its own
BODY_POSITION = 1000  # where body words start in the bench's tsvectors (only distances matter)


def body_vector(text: str, start: int) -> str:
    """Body words as inboxes.search.document writes them (weight D), from position `start`."""
    from inboxes.search.query import words_of

    words = words_of(text)
    return " ".join(map("'{}':{}".format, words, range(start, start + len(words))))


class Corpus:
    """Deterministic realistic messages: row values for the bulk fill and raw sources for ingest."""

    def __init__(self, seed: int = 7):
        self.random = random.Random(seed)
        self.pool: list[tuple[str, str, str]] = []
        weights = [1 / (rank + 1) ** 0.9 for rank in range(len(WORDS))]
        total = sum(weights)
        self.cumulative = []
        running = 0.0
        for weight in weights:
            running += weight / total
            self.cumulative.append(running)

    def person(self):
        first, last = self.random.choice(FIRST), self.random.choice(LAST)
        domain = self.random.choice(DOMAINS)
        return f"{first.title()} {last.title()}", f"{first}.{last}@{domain}"

    def sender(self):
        if self.random.random() < 0.7:
            local, domain = self.random.choice(SERVICE_SENDERS), self.random.choice(DOMAINS)
            return f"{domain.split('.')[0].title()} {local.title()}", f"{local}@{domain}"
        return self.person()

    def paragraphs(self) -> tuple[str, str, str]:
        """A body drawn from the word list (Zipf-like) with one to three stock phrases: text, HTML, tsvector piece."""
        words = self.random.choices(WORDS, cum_weights=self.cumulative, k=self.random.randint(180, 300))
        for _ in range(self.random.randint(1, 3)):
            spot = self.random.randrange(len(words))
            words.insert(spot, self.random.choice(PHRASES))
        lines = [" ".join(words[i : i + 14]) for i in range(0, len(words), 14)]
        text = "\n".join(lines) + "\n"
        html = "".join(f"<p>{line}</p>" for line in lines)
        return text, html, body_vector(text, BODY_POSITION)

    def body(self, n: int) -> tuple[str, str, str]:
        """Text, HTML and tsvector piece: a pooled text, then lines of this message's own."""
        if not self.pool:
            self.pool = [self.paragraphs() for _ in range(POOL)]
        text, html, vector = self.random.choice(self.pool)
        own = (
            f"Tracking reference TRK{n * 7919 % 1_000_000_007:010d}\n"
            f"Your code: {self.random.randrange(100000, 1000000)}  https://app.example/o/{n:x}\n"
        )
        return text + own, html + f"<p>{own}</p>", vector + " " + body_vector(own, BODY_POSITION + 400)

    def message(self, n: int, received: datetime) -> dict:
        name, address = self.sender()
        to_name, to_address = self.person()
        fields = {
            "order": 100000 + n,
            "first": to_name.split()[0],
            "invoice": f"INV-{n:07d}",
            "company": address.split("@")[1].split(".")[0].title(),
            "code": self.random.randrange(100000, 1000000),
            "word": self.random.choice(WORDS),
            "word2": self.random.choice(WORDS),
            "amount": f"{self.random.randrange(5, 900)}.{self.random.randrange(100):02d}",
            "city": self.random.choice(CITIES),
            "day": f"2026-{self.random.randrange(1, 13):02d}-15",
        }
        subject = self.random.choice(SUBJECTS).format(**fields)
        text, html, body_words = self.body(n)
        attachments = []
        if self.random.random() < 0.2:
            attachments = [f"invoice-{n}.pdf"] if "nvoice" in subject else [f"report-{n % 977}.csv"]
        raw = self.raw(name, address, to_name, to_address, subject, text, html, attachments, n, received)
        return {
            "body_vector": body_words + " " + body_vector(" ".join(attachments), BODY_POSITION + 420),
            "envelope_from": address,
            "envelope_to": [to_address],
            "subject": subject,
            "from_header": f"{name} <{address}>",
            "to_header": f"{to_name} <{to_address}>",
            "cc_header": "",
            "message_id": f"<{n}.{self.random.randrange(10**9)}@{address.split('@')[1]}>",
            "text_body": text,
            "attachment_names": "\n".join(attachments),
            "has_attachments": bool(attachments),
            "raw": raw,
        }

    @staticmethod
    def raw(name, address, to_name, to_address, subject, text, html, attachments, n, received) -> bytes:
        html = "<html><body>" + html + "</body></html>"
        head = (
            f"From: {name} <{address}>\r\nTo: {to_name} <{to_address}>\r\nSubject: {subject}\r\n"
            f"Date: {received.strftime('%a, %d %b %Y %H:%M:%S +0000')}\r\nMessage-ID: <{n}@bench.example>\r\n"
            "MIME-Version: 1.0\r\n"
        )
        alternative = (
            'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n'
            f"--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
            f"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--alt--\r\n"
        )
        if not attachments:
            return (head + alternative).encode()
        parts = f"--mixed\r\n{alternative}"
        for filename in attachments:
            parts += (
                f"--mixed\r\nContent-Type: application/octet-stream\r\n"
                f'Content-Disposition: attachment; filename="{filename}"\r\n\r\nAAECAwQFBgcICQ==\r\n'
            )
        return (head + 'Content-Type: multipart/mixed; boundary="mixed"\r\n\r\n' + parts + "--mixed--\r\n").encode()


def setup_django():
    os.environ.setdefault("MAILDOG_DATA_DIR", tempfile.mkdtemp(prefix="maildog-bench-"))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()


COLUMNS = [
    "inbox_id",
    "seq",
    "received_at",
    "envelope_from",
    "envelope_to",
    "subject",
    "from_header",
    "to_header",
    "cc_header",
    "date",
    "message_id",
    "text_body",
    "has_attachments",
    "attachment_names",
    "has_long_lines",
    "parse_errors",
    "deliverability_verdict",
    "deliverability_results",
    "deliverability_checked_at",
    "client_ip",
    "helo",
    "tls_version",
    "tls_cipher",
    "smtp_username",
    "size",
    "is_read",
    "raw",
]


def fill(inbox, count: int, corpus: Corpus, start_seq: int, batch: int = 5000) -> float:
    """Insert `count` messages in bulk; returns messages per second."""
    from django.db import connection, transaction

    from inboxes.models import Inbox
    from inboxes.search import index

    verdicts = ["", "pass", "fail", "none"]
    begin = time.perf_counter()
    base = datetime(2026, 1, 1, tzinfo=dt_timezone.utc)
    postgres = connection.vendor == "postgresql"
    if postgres:
        with connection.cursor() as cursor:  # a GIN index is built much faster at once than row by row
            cursor.execute(f"DROP INDEX IF EXISTS {index.PG_INDEX}")
    done = 0
    while done < count:
        size = min(batch, count - done)
        rows, body_vectors = [], []
        for offset in range(size):
            n = start_seq + done + offset
            received = base + timedelta(seconds=n * 7)
            m = corpus.message(n, received)
            body_vectors.append(m["body_vector"])
            rows.append(
                (
                    inbox.pk,
                    n,
                    received,
                    m["envelope_from"],
                    json.dumps(m["envelope_to"]),
                    m["subject"],
                    m["from_header"],
                    m["to_header"],
                    "",
                    received,
                    m["message_id"],
                    m["text_body"],
                    m["has_attachments"],
                    m["attachment_names"],
                    False,
                    "[]",
                    verdicts[n % 4],
                    None,
                    None,
                    "192.0.2.10",
                    "app.example",
                    "TLSv1.3",
                    "TLS_AES_256_GCM_SHA384",
                    "app",
                    len(m["raw"]),
                    n % 3 == 0,
                    m["raw"],
                )
            )
        with transaction.atomic():
            if postgres:
                copy_rows(connection, [row + (vector(row, words),) for row, words in zip(rows, body_vectors)])
            else:
                placeholders = ", ".join(["%s"] * (len(COLUMNS) + 1))
                with connection.cursor() as cursor:
                    cursor.executemany(
                        f"INSERT INTO inboxes_message ({', '.join(COLUMNS)}, search_vector) VALUES ({placeholders})",
                        [sqlite_row(row) + [address_terms(row)] for row in rows],
                    )
        done += size
        if done % 50000 < batch:
            elapsed = time.perf_counter() - begin
            print(f"  filled {done:,} ({done / elapsed:,.0f}/s)", flush=True)
    Inbox.objects.filter(pk=inbox.pk).update(last_seq=start_seq + count - 1)
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '256MB'")
        index.create(connection, fill=False)
    elapsed = time.perf_counter() - begin
    return count / elapsed


def vector(row, body_words: str) -> str:
    """The tsvector text ingest writes on PostgreSQL (inboxes.search.document) for a bulk row; the body's
    words come ready from the corpus (the same words and order, at positions further along)."""
    from inboxes.search.document import fields, flags, tsvector

    by_name = dict(zip(COLUMNS, row))
    envelope = (by_name["from_header"], by_name["envelope_from"], by_name["to_header"], by_name["cc_header"])
    recipients = json.loads(by_name["envelope_to"])
    head = fields(by_name["subject"], *envelope, recipients, "", "")
    return tsvector(head, flags(*envelope, recipients, by_name["has_attachments"])) + " " + body_words


def address_terms(row) -> str:
    """SQLite: the whole-address words ingest keeps in search_vector (inboxes.search.document.sqlite_terms)."""
    from inboxes.search.document import sqlite_terms

    by_name = dict(zip(COLUMNS, row))
    return sqlite_terms(
        by_name["from_header"],
        by_name["envelope_from"],
        by_name["to_header"],
        by_name["cc_header"],
        json.loads(by_name["envelope_to"]),
    )


def sqlite_row(row):
    row = list(row)
    for position in (2, 9):
        row[position] = row[position].isoformat(sep=" ")
    return row


def copy_rows(connection, rows):
    with connection.cursor() as cursor:
        raw_cursor = cursor.cursor
        with raw_cursor.copy(f"COPY inboxes_message ({', '.join(COLUMNS)}, search_vector) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def measure_ingest(inbox, corpus: Corpus, messages: int, rounds: int) -> dict:
    """What the index costs ingest_many, from `rounds` alternating pairs of rounds (with, then without).

    Through ingest_many, what the SMTP process runs before its 250s. Each pair
    gives a cost (time per message with the index / without - 1), in wall time
    and in this process's CPU time; the medians and ranges of those costs are
    returned with the median rates. Pairs rather than medians of each side: on a
    shared machine the speed drifts by more than the index costs within a
    minute, and the two rounds of a pair run back to back. On PostgreSQL the
    search words are written after the 250 by the indexer (in `runchecks`):
    its rate is timed on its own, after each round with the index.
    """
    from django.db import connection

    from inboxes.ingest import Incoming, SessionFacts, ingest_many
    from inboxes.models import Message
    from inboxes.search import document, index, indexer

    received = datetime(2026, 1, 1, tzinfo=dt_timezone.utc)
    raws = [corpus.message(10**8 + n, received)["raw"] for n in range(messages)]
    facts = SessionFacts(mail_from="app@example.com", rcpt_tos=["ann@example.com"], client_ip="192.0.2.1")
    items = [Incoming(inbox.pk, raw, facts) for raw in raws]
    indexing: list[float] = []

    def run(index_after: bool = True) -> tuple[float, float]:
        """(seconds, CPU seconds) to store the items."""
        if connection.vendor == "sqlite":
            # The last round's deletes wait in the write-ahead log: checkpointed now, not during this round.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        begin, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(items), 20):
            ingest_many(items[start : start + 20])
        took = (time.perf_counter() - begin, time.process_time() - cpu)
        if index_after and connection.vendor == "postgresql":
            begin = time.perf_counter()
            assert indexer.index_all_pending() == len(items)
            indexing.append(len(items) / (time.perf_counter() - begin))
        Message.objects.filter(inbox=inbox).delete()
        return took

    def run_without() -> tuple[float, float]:
        """Without: no index (no triggers and FTS5 table; no GIN index), and no search words computed at all."""
        index.drop(connection)
        terms = document.search_terms
        document.search_terms = lambda message, vendor: None
        try:
            return run(index_after=False)
        finally:
            document.search_terms = terms
            index.create(connection)

    pairs = []
    run()  # warm-up
    indexing.clear()
    for _ in range(rounds):
        pairs.append((run(), run_without()))
    wall_costs = [with_[0] / without[0] - 1 for with_, without in pairs]
    cpu_costs = [with_[1] / without[1] - 1 for with_, without in pairs]
    return {
        "with": statistics.median(len(items) / with_[0] for with_, _ in pairs),
        "without": statistics.median(len(items) / without[0] for _, without in pairs),
        "cost": statistics.median(wall_costs),
        "cost_range": (min(wall_costs), max(wall_costs)),
        "cpu_cost": statistics.median(cpu_costs),
        "cpu_cost_range": (min(cpu_costs), max(cpu_costs)),
        "indexer": statistics.median(indexing) if indexing else None,
    }


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="messages in the inbox")
    parser.add_argument("--queries", type=int, default=20, help="queries per kind (at least 20)")
    parser.add_argument("--ingest", type=int, default=1000, help="messages per ingest round")
    parser.add_argument(
        "--ingest-rounds", type=int, default=9, help="alternating pairs of ingest rounds, with and without the index"
    )
    parser.add_argument("--ingest-only", action="store_true", help="measure what the index costs ingest, then stop")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the pages of a database a previous run filled (MAILDOG_DATA_DIR or DATABASE_URL)",
    )
    args = parser.parse_args()
    setup_django()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from accounts.models import Membership, Team
    from inboxes.models import Inbox
    from inboxes.search import index

    if connection.vendor == "sqlite":
        print(f"data directory: {os.environ['MAILDOG_DATA_DIR']}", flush=True)
    if args.reuse:
        user = get_user_model().objects.get(username="bench")
        inbox = Inbox.objects.get(name="Staging")
        args.count = inbox.messages.count()
    else:
        call_command("migrate", verbosity=0)
        user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-password-1")
        team = Team.objects.create(name="Bench")
        Membership.objects.create(team=team, user=user, role=Membership.Role.OWNER)
        inbox = Inbox.objects.create(team=team, name="Staging", max_messages=args.count * 2 + 10)
    print(f"{connection.vendor}: one inbox, {args.count:,} messages; {args.queries} queries per kind", flush=True)

    if not args.reuse:
        ingest = measure_ingest(inbox, Corpus(), args.ingest, args.ingest_rounds)
        low, high = ingest["cost_range"]
        cpu_low, cpu_high = ingest["cpu_cost_range"]
        print(
            f"ingest (ingest_many, groups of 20, {args.ingest} messages, {args.ingest_rounds} alternating pairs): "
            f"{ingest['with']:,.0f}/s with the index, {ingest['without']:,.0f}/s without; the index costs "
            f"{ingest['cost']:+.1%} (median of the pairs, {low:+.1%} to {high:+.1%}), in CPU time "
            f"{ingest['cpu_cost']:+.1%} ({cpu_low:+.1%} to {cpu_high:+.1%}). The storing step alone: the budget "
            f"({INGEST_BUDGET:.0%}) is on SMTP ingest end to end, which bench/index_cost.py measures",
            flush=True,
        )
        if ingest["indexer"] is not None:
            print(
                f"indexer (after the 250, in runchecks): {ingest['indexer']:,.0f} messages/s, "
                f"{ingest['without'] / ingest['indexer']:.0%} of ingest's time per message without the index",
                flush=True,
            )
        if args.ingest_only:
            return
        rate = fill(inbox, args.count, Corpus(seed=11), start_seq=1)
        print(f"bulk fill: {rate:,.0f} messages/s", flush=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE inboxes_message")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    index_bytes = index.size_bytes(connection)
    print(f"index size: {index_bytes / 2**20:,.0f} MB ({index_bytes / args.count:,.0f} bytes per message)", flush=True)

    client = Client()
    client.force_login(user)
    url = f"/inboxes/{inbox.pk}/"
    pick = random.Random(3)
    n_queries = max(args.queries, 20)

    def tracking(n):
        return f"TRK{n * 7919 % 1_000_000_007:010d}"

    kinds = {
        "list, first page": [(url, {}) for _ in range(n_queries)],
        "list, a page deep down": [
            (url, {"before": str(pick.randrange(args.count // 4, args.count * 3 // 4))}) for _ in range(n_queries)
        ],
        "rare body token": [(url, {"q": tracking(pick.randrange(1, args.count))}) for _ in range(n_queries)],
        "common word": [(url, {"q": word}) for word in pick.sample(WORDS[:60], n_queries)],
        "phrase": [(url, {"q": f'"{PHRASES[i % len(PHRASES)]}"'}) for i in range(n_queries)],
        "from: + has:attachment": [
            (url, {"q": f"from:{pick.choice(SERVICE_SENDERS)}@{pick.choice(DOMAINS)} has:attachment"})
            for _ in range(n_queries)
        ],
        "no match": [(url, {"q": f"zqxv{pick.randrange(10**6)}"}) for _ in range(n_queries)],
    }
    from inboxes.search import search

    print(
        f"{'kind':28s} {'p50 ms':>8s} {'p95 ms':>8s} {'budget':>8s}       {'db p50':>7s} {'db p95':>7s}"
        "  results (first query)"
    )
    failures = []
    for kind, requests in kinds.items():
        budget = LIST_BUDGET_MS if kind.startswith("list") else SEARCH_BUDGET_MS
        for path, params in requests[:3]:  # warm-up
            client.get(path, params)
        times, first = [], None
        for path, params in requests:
            begin = time.perf_counter()
            response = client.get(path, params)
            times.append((time.perf_counter() - begin) * 1000)
            assert response.status_code == 200, (kind, params, response.status_code)
            if first is None:
                found_label = re.search(r'id="search-count">([^<]*)<', response.content.decode())
                rows = response.content.decode().count('class="message-row')
                first = (
                    f"{params.get('q', params.get('before', ''))}: {found_label[1] if found_label else f'{rows} rows'}"
                )
        # The database's share: the page's search and count queries alone (Search.page + Search.count).
        db_times = []
        for _, params in requests:
            begin = time.perf_counter()
            found = search(inbox.pk, params.get("q", ""))
            before = int(params["before"]) if "before" in params else None
            found.page(before_seq=before, limit=51)
            if params.get("q"):
                found.bounded_count()
            db_times.append((time.perf_counter() - begin) * 1000)
        p50, p95 = statistics.median(times), percentile(times, 0.95)
        ok = p95 < budget
        if not ok:
            failures.append(kind)
        print(
            f"{kind:28s} {p50:8.1f} {p95:8.1f} {'<' + str(budget):>8s}  {'OK ' if ok else 'OVER'}  "
            f"{statistics.median(db_times):7.1f} {percentile(db_times, 0.95):7.1f}  {first}",
            flush=True,
        )
    print("all within budget" if not failures else f"over budget: {', '.join(failures)}")


if __name__ == "__main__":
    main()
