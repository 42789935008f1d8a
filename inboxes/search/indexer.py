"""PostgreSQL: the search words of new mail, written just after its 250 rather than inside the ingest transaction.

Building a message's tsvector in Python and PostgreSQL reading it cost about
half as much again as the rest of storing the message (docs/search.md). So
ingest saves the row with `search_vector` NULL and the indexer writes it
shortly after, in batches: one SELECT of waiting rows (a partial index holds
only those, `index.PG_PENDING_INDEX`) and one UPDATE per batch.

A message is searchable from its 250 all the same: until its words are
written, `pending_matches` builds them from the row exactly as the indexer
will and asks PostgreSQL which of them match the query (`Search` adds those
ids to what the GIN index finds). That reads at most PENDING_LIMIT waiting
messages of the inbox, newest first: enough for seconds of a flood.

The indexer runs on a thread of the process that also runs the checks: the
`runchecks` process where there is one (its own core), otherwise each SMTP
process. Several may run: each takes its rows with `FOR UPDATE SKIP LOCKED`,
so none writes a row twice or waits for another (or for a deletion).
Nothing is lost if a process stops: what is NULL is what is still to index.
SQLite writes its FTS5 entries inside the ingest transaction and needs none of this.
"""

import logging
import threading

from django.conf import settings
from django.db import DatabaseError, DataError, connection, connections, transaction

from ..ingest import close_stale_connection
from . import index

log = logging.getLogger("maildog.search")

BATCH = 100  # messages per UPDATE (text bodies are at most 100,000 characters each)
IDLE_WAIT = 0.1  # seconds between looks while nothing waits: the lag of the index behind the 250
ERROR_WAIT = 2.0  # seconds before trying again after a database error
PENDING_LIMIT = 1000  # waiting messages of an inbox a search reads itself (newest first)
PENDING_CHUNK = 100  # of those, read and matched at a time (bounded memory)
# Characters of tsvector text sent in one statement: a typical message's is 3,000, a hostile one's up to
# document.MAX_VECTOR_TEXT (400,000), so a batch of those is split rather than held whole.
STATEMENT_CHARS = 2_000_000

_UPDATE = (
    f"UPDATE {index.MESSAGE_TABLE} AS message SET {index.PG_COLUMN} = words.vector::tsvector "
    "FROM unnest(%s::bigint[], %s::text[]) AS words(id, vector) WHERE message.id = words.id"
)


def runs_here_for_smtp() -> bool:
    """Whether an SMTP process runs the indexer: on PostgreSQL, unless a `runchecks` process does."""
    checks_elsewhere = settings.MAILDOG_AUTH_CHECKS and settings.MAILDOG_AUTH_CHECKS_PROCESS
    return connection.vendor == "postgresql" and not checks_elsewhere


def _in_statements(rows):
    """(ids, tsvector texts) of the rows, in groups of at most STATEMENT_CHARS of text (at least one row)."""
    ids: list[int] = []
    vectors: list[str] = []
    size = 0
    for row in rows:
        try:
            vector = index.row_vector(row)
        except Exception:  # one message's words must not hold up the others': it gets none
            log.exception("search index: the words of message %s could not be made; left out", row[0])
            vector = ""
        if ids and size + len(vector) > STATEMENT_CHARS:
            yield ids, vectors
            ids, vectors, size = [], [], 0
        ids.append(row[0])
        vectors.append(vector)
        size += len(vector)
    if ids:
        yield ids, vectors


def index_pending(batch: int = BATCH) -> int:
    """Write the search words of up to `batch` waiting messages, oldest first; returns how many."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {index.VECTOR_SOURCE} FROM {index.MESSAGE_TABLE} WHERE {index.PG_COLUMN} IS NULL "
            "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            [batch],
        )
        rows = cursor.fetchall()
        for ids, vectors in _in_statements(rows):
            try:
                with transaction.atomic():
                    cursor.execute(_UPDATE, [ids, vectors])
            except DataError:
                # One message's words refused (document.tsvector keeps within PostgreSQL's limits, so
                # this should not happen): the others are written, that one gets none, not a retry forever.
                for message_id, vector in zip(ids, vectors):
                    try:
                        with transaction.atomic():
                            cursor.execute(_UPDATE, [[message_id], [vector]])
                    except DataError:
                        log.error("search index: message %s has words PostgreSQL refuses; left out", message_id)
                        cursor.execute(_UPDATE, [[message_id], [""]])
    return len(rows)


def index_all_pending() -> int:
    """Index every waiting message now (tests, benchmarks); returns how many."""
    done = 0
    while written := index_pending():
        done += written
    return done


def pending_matches(inbox_id: int, tsquery: str, using=None) -> list[int]:
    """Ids of the inbox's messages still waiting for their words that match `tsquery` (newest first)."""
    db = using or connection
    found: list[int] = []
    below = None
    with db.cursor() as cursor:
        for _ in range(PENDING_LIMIT // PENDING_CHUNK):
            bound = "AND id < %s" if below is not None else ""
            cursor.execute(
                f"SELECT {index.VECTOR_SOURCE} FROM {index.MESSAGE_TABLE} "
                f"WHERE inbox_id = %s AND {index.PG_COLUMN} IS NULL {bound} ORDER BY id DESC LIMIT %s",
                [inbox_id, *([below] if below is not None else []), PENDING_CHUNK],
            )
            rows = cursor.fetchall()
            if not rows:
                break
            for ids, vectors in _in_statements(rows):
                cursor.execute(
                    "SELECT words.id FROM unnest(%s::bigint[], %s::text[]) AS words(id, vector) "
                    "WHERE words.vector::tsvector @@ %s::tsquery ORDER BY words.id DESC",
                    [ids, vectors, tsquery],
                )
                found += [row[0] for row in cursor.fetchall()]
            if len(rows) < PENDING_CHUNK:
                break
            below = rows[-1][0]
    return found


class SearchIndexer:
    """A thread that indexes waiting messages until stopped."""

    def __init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="maildog-search-index", daemon=True)

    def start(self) -> "SearchIndexer":
        self._thread.start()
        return self

    def stop(self, timeout: float) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    close_stale_connection(at_most_every=1.0)
                    written = index_pending()
                except DatabaseError:
                    log.warning("search index: database error, trying again in %.0fs", ERROR_WAIT, exc_info=True)
                    self._stop.wait(ERROR_WAIT)
                    continue
                if written < BATCH:  # caught up: look again shortly
                    self._stop.wait(IDLE_WAIT)
        finally:
            connections.close_all()


_indexer: SearchIndexer | None = None
_lock = threading.Lock()


def start_indexer(sender=None, **kwargs) -> None:
    """Start this process's indexer thread, once (`runchecks`, or an SMTP process: InboxesConfig.ready)."""
    global _indexer
    with _lock:
        if _indexer is None:
            _indexer = SearchIndexer().start()


def stop_indexer(sender=None, grace: float = 5.0, **kwargs) -> None:
    """Also an `ingest_stopping` receiver: what is left waits in the database for the next indexer."""
    global _indexer
    with _lock:
        running, _indexer = _indexer, None
    if running is not None:
        running.stop(min(grace, 5.0))
