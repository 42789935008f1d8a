"""The full-text index behind search, on SQLite and on PostgreSQL.

What is indexed, per message, in four fields:

| field | SQLite FTS5 column | PostgreSQL weight | from |
| --- | --- | --- | --- |
| subject | `subject` | A | Subject |
| from | `sender` | B | From (address and display name), envelope sender |
| to | `recipients` | C | To, Cc, envelope recipients |
| body | `body` | D | the text body (or the HTML's text), attachment file names |

Both split text into runs of letters and digits, lower-cased, exactly as
`query.words_of` does, so a query means the same thing on both databases.

**SQLite**: a contentless FTS5 table `inboxes_message_search` whose rowid is
the message id, with one more column, `inbox` ("i<inbox id>"), so that a
search reads only its inbox's entries, newest first, and stops after a page.
The whole-address words (document.address_words) cannot be found by SQL in a
header, so ingest keeps them in the row's `search_vector` column (unused
otherwise on SQLite) and the triggers append them to sender and recipients.
Triggers on the message table keep it in step inside the writing transaction
(ingest, the cap's deletes, message and inbox deletion, updates of indexed
columns). A contentless table forgets the text: a delete hands the old values
back to FTS5 (the 'delete' command), computed from the row by the same
expressions.

**PostgreSQL**: the `tsvector` column `search_vector` with a GIN index, built
in Python by `document.tsvector` (PostgreSQL's own `to_tsvector` cost more than
the rest of storing a message); phrases use the positions, field restrictions
the weights. Ingest leaves it NULL and the indexer (`indexer`) writes it just
after the 250, outside the ingest transaction; the partial index
PG_PENDING_INDEX holds the messages still waiting, which searches read
directly meanwhile (`indexer.pending_matches`). Messages saved any other way
get it as they are saved (`Message.search_vector`'s pre_save).
"""

import json

from django.db import connection as default_connection

FTS_TABLE = "inboxes_message_search"
MESSAGE_TABLE = "inboxes_message"
PG_COLUMN = "search_vector"
PG_INDEX = "inboxes_message_search_gin"
# PostgreSQL: the messages whose search words are still to be written (inboxes.search.indexer), and only those.
PG_PENDING_INDEX = "inboxes_message_search_pending"
TRIGGERS = ("inboxes_message_search_insert", "inboxes_message_search_delete", "inboxes_message_search_update")

# The FTS5 columns and how each is computed from a message row (R is NEW or OLD).
# search_vector holds "<senders' whole-address words>/<recipients' ...>" (document.sqlite_terms).
_TERMS = "coalesce({r}.search_vector, '/')"
_FTS_VALUES = {
    "inbox": "'i' || {r}.inbox_id",
    "subject": "{r}.subject",
    "sender": "{r}.from_header || ' ' || {r}.envelope_from || ' ' || "
    f"substr({_TERMS}, 1, instr({_TERMS}, '/') - 1)",
    "recipients": "{r}.to_header || ' ' || {r}.cc_header || ' ' || {r}.envelope_to || ' ' || "
    f"substr({_TERMS}, instr({_TERMS}, '/') + 1)",
    "body": "{r}.text_body || ' ' || {r}.attachment_names",
}
FTS_COLUMNS = tuple(_FTS_VALUES)
INDEXED_COLUMNS = (
    "inbox_id",
    "subject",
    "from_header",
    "envelope_from",
    "to_header",
    "cc_header",
    "envelope_to",
    "text_body",
    "attachment_names",
    "search_vector",
)


def _values(row: str) -> str:
    return ", ".join(expression.format(r=row) for expression in _FTS_VALUES.values())


def _sqlite_statements() -> list[str]:
    columns = ", ".join(FTS_COLUMNS)
    delete = f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {columns}) VALUES ('delete', OLD.id, {_values('OLD')});"
    insert = f"INSERT INTO {FTS_TABLE}(rowid, {columns}) VALUES (NEW.id, {_values('NEW')});"
    return [
        # columnsize=0: no per-row column sizes (only ranking reads them; results are ordered by id).
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5({columns}, content='', "
        "tokenize='unicode61 remove_diacritics 0', detail=full, columnsize=0)",
        f"CREATE TRIGGER IF NOT EXISTS {TRIGGERS[0]} AFTER INSERT ON {MESSAGE_TABLE} BEGIN {insert} END",
        f"CREATE TRIGGER IF NOT EXISTS {TRIGGERS[1]} AFTER DELETE ON {MESSAGE_TABLE} BEGIN {delete} END",
        f"CREATE TRIGGER IF NOT EXISTS {TRIGGERS[2]} AFTER UPDATE OF {', '.join(INDEXED_COLUMNS)} ON {MESSAGE_TABLE} "
        f"BEGIN {delete} {insert} END",
    ]


def _sqlite_fill() -> str:
    columns = ", ".join(FTS_COLUMNS)
    values = ", ".join(expression.format(r=MESSAGE_TABLE) for expression in _FTS_VALUES.values())
    return f"INSERT INTO {FTS_TABLE}(rowid, {columns}) SELECT {MESSAGE_TABLE}.id, {values} FROM {MESSAGE_TABLE}"


def _exists(cursor, vendor: str) -> bool:
    if vendor == "sqlite":
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name IN (%s, %s, %s, %s)", [FTS_TABLE, *TRIGGERS])
        return cursor.fetchone()[0] == 1 + len(TRIGGERS)
    cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname IN (%s, %s)", [PG_INDEX, PG_PENDING_INDEX])
    return cursor.fetchone()[0] == 2


def create(connection=default_connection, *, fill: bool = True) -> None:
    """Create the index (table and triggers, or column and GIN index) and fill it from the messages."""
    vendor = connection.vendor
    with connection.cursor() as cursor:
        if vendor == "sqlite":
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = %s", [FTS_TABLE])
            new_table = cursor.fetchone()[0] == 0
            for statement in _sqlite_statements():
                cursor.execute(statement)
            if fill and new_table:
                cursor.execute(_sqlite_fill())
        elif vendor == "postgresql":
            if fill:
                fill_vectors(connection, only_missing=True)
            # Updated rows leave deferred foreign-key checks pending, and no index can be built over them.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON {MESSAGE_TABLE} USING gin ({PG_COLUMN})")
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {PG_PENDING_INDEX} ON {MESSAGE_TABLE} (inbox_id, id) "
                f"WHERE {PG_COLUMN} IS NULL"
            )
        else:
            raise NotImplementedError(f"Search has no index for {vendor}")


def drop(connection=default_connection) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for trigger in TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            cursor.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
        elif connection.vendor == "postgresql":
            cursor.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
            cursor.execute(f"DROP INDEX IF EXISTS {PG_PENDING_INDEX}")


def ensure(connection=default_connection) -> bool:
    """Recreate whatever part of the index is missing (a table rebuild drops SQLite's triggers); True if it did."""
    with connection.cursor() as cursor:
        if _exists(cursor, connection.vendor):
            return False
    if connection.vendor == "postgresql":
        create(connection)  # what is missing, and the words of the messages without them
    else:
        rebuild(connection)
    return True


def ensure_after_migrate(sender, using="default", plan=None, **kwargs) -> None:
    """post_migrate: recreate a missing index once the migration that creates it is applied."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    connection = connections[using]
    applied = MigrationRecorder(connection).applied_migrations()
    if ("inboxes", "0004_message_search_index") in applied:
        ensure(connection)


def rebuild(connection=default_connection) -> None:
    """Build the index again from the messages (what `manage.py rebuild_search_index` runs)."""
    if connection.vendor == "sqlite":
        drop(connection)
        fill_terms(connection)
        create(connection)
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")
    else:
        drop(connection)
        fill_vectors(connection, only_missing=False)
        create(connection, fill=False)


# PostgreSQL: what a message's tsvector is built from, as read back from its row (see row_vector).
VECTOR_SOURCE = (
    "id, subject, from_header, envelope_from, to_header, cc_header, envelope_to::text, text_body, "
    "attachment_names, has_attachments"
)


def row_vector(row) -> str:
    """The tsvector text of a row read with VECTOR_SOURCE: what ingest would have built for the message."""
    from .document import fields, flags, tsvector

    _, subject, from_, envelope_from, to, cc, envelope_to, text, names, attached = row
    recipients = json.loads(envelope_to) if envelope_to else []
    indexed = fields(subject, from_, envelope_from, to, cc, recipients, text, names)
    return tsvector(indexed, flags(from_, envelope_from, to, cc, recipients, attached))


def fill_vectors(connection=default_connection, *, only_missing: bool, batch: int = 2000) -> int:
    """PostgreSQL: write search_vector for every message (or those without one), in batches; returns how many."""
    done, last_id = 0, 0
    missing = f"AND {PG_COLUMN} IS NULL" if only_missing else ""
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {VECTOR_SOURCE} FROM {MESSAGE_TABLE} WHERE id > %s {missing} ORDER BY id LIMIT %s",
                [last_id, batch],
            )
            rows = cursor.fetchall()
            if not rows:
                return done
            values = [(row_vector(row), row[0]) for row in rows]
            cursor.executemany(f"UPDATE {MESSAGE_TABLE} SET {PG_COLUMN} = %s::tsvector WHERE id = %s", values)
            done += len(rows)
            last_id = rows[-1][0]


def fill_terms(connection=default_connection, *, batch: int = 2000) -> int:
    """SQLite: write search_vector (the whole-address words) for every message, in batches; returns how many.

    Run with the triggers dropped (`rebuild`): the FTS5 table is filled after, in one statement.
    """
    from .document import sqlite_terms

    done, last_id = 0, 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, from_header, envelope_from, to_header, cc_header, envelope_to FROM {MESSAGE_TABLE} "
                "WHERE id > %s ORDER BY id LIMIT %s",
                [last_id, batch],
            )
            rows = cursor.fetchall()
            if not rows:
                return done
            values = []
            for message_id, from_header, envelope_from, to_header, cc_header, envelope_to in rows:
                recipients = json.loads(envelope_to) if envelope_to else []
                values.append((sqlite_terms(from_header, envelope_from, to_header, cc_header, recipients), message_id))
            cursor.executemany(f"UPDATE {MESSAGE_TABLE} SET {PG_COLUMN} = %s WHERE id = %s", values)
            done += len(rows)
            last_id = rows[-1][0]


def size_bytes(connection=default_connection) -> int:
    """Bytes on disk of the index (FTS5's shadow tables, or the tsvector column's share plus the GIN index)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE %s", [FTS_TABLE + "%"])
            return int(cursor.fetchone()[0])
        cursor.execute("SELECT pg_relation_size(%s)", [PG_INDEX])
        index = cursor.fetchone()[0]
        cursor.execute(f"SELECT coalesce(sum(pg_column_size({PG_COLUMN})), 0) FROM {MESSAGE_TABLE}")
        return int(index + cursor.fetchone()[0])
