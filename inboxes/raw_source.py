"""A message's raw source into and out of the database with as few copies in memory as the database allows.

Writing: handed to the database as a query parameter, a 25 MB message cost
several times its size. Django binds PostgreSQL parameters on the client:
`bytea` is rendered as hex text (twice the size) inside a query string that is
then encoded again, about 6x the message in all. SQLite copies a bound blob
and keeps the copy in its statement cache until the statement runs again.
`RawWriter` instead streams the bytes in bounded pieces: on PostgreSQL
(psycopg 3) with a binary `COPY` into a temporary table that the insert reads
from, on SQLite by incremental blob I/O into a `zeroblob` the insert reserved.
Both happen inside the caller's transaction, so a message is still stored
whole or not at all. Small messages (most mail) still go as parameters, up to
INLINE_BATCH_BYTES per insert: for them a second step would cost more than it
saves. Other databases get the bytes as parameters.

Reading: Django reads PostgreSQL `bytea` in text form: the hex text is twice
the message's size, and unescaping it and copying it into Python bytes make a
25 MB message cost about 4x its size just to load. With psycopg 3, `load_raw`
reads binary results in pieces into one buffer: 1x the message and a piece.
On SQLite, `load_raw` reads by incremental blob I/O, also in pieces into one buffer.
"""

import io
import struct

from django.db import connection
from django.db.models import BinaryField
from django.db.models.expressions import RawSQL

from .models import Message

# Pieces of the raw source handed to the database driver at a time: the most a write adds to memory.
CHUNK_BYTES = 1024 * 1024
# Small raw sources go as query parameters, which costs the database less than a second step (most
# mail is a few KB); what they cost in memory stays under a few times INLINE_BATCH_BYTES per insert.
INLINE_MAX_BYTES = 64 * 1024
INLINE_BATCH_BYTES = 1024 * 1024
# PostgreSQL: where a transaction's raw sources wait for the INSERT that reads them (per connection).
STAGING_TABLE = "maildog_raw_staging"
# PostgreSQL: pieces read at a time. A compressed value is decompressed from its start for each
# piece, so pieces are not too small either (25 MB: 7 queries).
LOAD_CHUNK_BYTES = 4 * 1024 * 1024
PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)


def _psycopg3() -> bool:
    return connection.vendor == "postgresql" and connection.Database.__name__ == "psycopg"


def _sqlite_blobs() -> bool:
    return connection.vendor == "sqlite" and hasattr(connection.Database.Connection, "blobopen")


class RawWriter:
    """Raw sources of messages inserted together, written without a copy of each message's size.

    Use inside the transaction that inserts the messages: `value(index)` is
    what to give `Message.raw` for `raws[index]` in the insert, and
    `finish(messages)` completes the rows once the insert has given them
    their ids. Until `finish`, a row's `raw` may be a placeholder: a
    transaction that does not reach `finish` must not commit.
    """

    def __init__(self, raws: list[bytes]):
        self.raws = raws
        self.mode = "copy" if _psycopg3() else "blob" if _sqlite_blobs() else "parameter"
        self.in_pieces: set[int] = set()
        if self.mode != "parameter":
            inline = 0
            for index, raw in enumerate(raws):
                if len(raw) > INLINE_MAX_BYTES or inline + len(raw) > INLINE_BATCH_BYTES:
                    self.in_pieces.add(index)
                else:
                    inline += len(raw)
        if self.mode == "copy" and self.in_pieces:
            self._copy_to_staging()

    def value(self, index: int):
        raw = self.raws[index]
        if index not in self.in_pieces:
            return raw
        if self.mode == "copy":
            return RawSQL(f"(SELECT raw FROM {STAGING_TABLE} WHERE n = %s)", (index,), output_field=BinaryField())
        return RawSQL("zeroblob(%s)", (len(raw),), output_field=BinaryField())

    def finish(self, messages: list[Message]) -> None:
        """Write what the placeholders reserved; leave each message's `raw` as its bytes."""
        if self.mode == "copy" and self.in_pieces:
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {STAGING_TABLE}")
        elif self.mode == "blob":
            self._write_blobs(messages)
        for message, raw in zip(messages, self.raws, strict=True):
            message.raw = raw

    def _copy_to_staging(self) -> None:
        # A temporary table lives as long as the database session; created here
        # when missing, so a connection pooler that changes sessions is no trouble.
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING_TABLE} (n integer NOT NULL, raw bytea NOT NULL)"
            )
        # psycopg's own cursor: COPY's binary format carries the bytes as they are, in pieces
        # that psycopg flushes as it goes (Django's cursor would only add its wrapping).
        with connection.Database.Cursor(connection.connection) as cursor:
            with cursor.copy(f"COPY {STAGING_TABLE} (n, raw) FROM STDIN (FORMAT binary)") as copy:
                copy.write(PGCOPY_HEADER)
                for index in sorted(self.in_pieces):
                    raw = self.raws[index]
                    # A row: two fields, a 4-byte integer, then the bytea's length and its bytes.
                    copy.write(struct.pack("!hiii", 2, 4, index, len(raw)))
                    view = memoryview(raw)
                    for start in range(0, len(raw), CHUNK_BYTES):
                        copy.write(view[start : start + CHUNK_BYTES])
                copy.write(struct.pack("!h", -1))

    def _write_blobs(self, messages: list[Message]) -> None:
        table = Message._meta.db_table
        for index in sorted(self.in_pieces):
            message, raw = messages[index], self.raws[index]
            if message.pk is None:
                raise RuntimeError("the database did not return the new message's id")
            view = memoryview(raw)
            with connection.connection.blobopen(table, "raw", message.pk) as blob:
                for start in range(0, len(raw), CHUNK_BYTES):
                    blob.write(view[start : start + CHUNK_BYTES])


def load_small_raws(message_ids, max_bytes: int = INLINE_MAX_BYTES) -> dict[int, bytes]:
    """The raw sources of those of `message_ids` that are at most `max_bytes`, in one query ({id: bytes}).

    For work on a batch of messages (the checks): most mail is a few KB, and a
    query for each message (two on PostgreSQL) costs more than reading it.
    What is larger, or gone, is not in the answer: read it with `load_raw`.
    Holds at most len(message_ids) x max_bytes (twice that while reading).
    """
    ids = [int(message_id) for message_id in message_ids]
    if not ids:
        return {}
    table = connection.ops.quote_name(Message._meta.db_table)
    if _psycopg3():
        connection.ensure_connection()
        # psycopg's own cursor: binary results, so bytea arrives as bytes rather than hex text.
        with connection.Database.Cursor(connection.connection) as cursor:
            cursor.execute(
                f"SELECT id, raw FROM {table} WHERE id = ANY(%s) AND octet_length(raw) <= %s",
                [ids, max_bytes],
                binary=True,
            )
            return {message_id: bytes(raw) for message_id, raw in cursor.fetchall()}
    with connection.cursor() as cursor:
        placeholders = ", ".join(["%s"] * len(ids))
        cursor.execute(
            f"SELECT id, raw FROM {table} WHERE id IN ({placeholders}) AND length(raw) <= %s", [*ids, max_bytes]
        )
        return {message_id: bytes(raw) for message_id, raw in cursor.fetchall()}


def load_raw(message_id: int) -> bytes:
    """The raw source of message `message_id`, byte for byte as stored (Message.DoesNotExist if none)."""
    if _psycopg3():
        return _load_in_pieces(message_id)
    if _sqlite_blobs():
        return _load_blob(message_id)
    # bytes(bytes) is the object itself: no copy.
    return bytes(Message.objects.filter(pk=message_id).values_list("raw", flat=True).get())


def _load_blob(message_id: int) -> bytes:
    # A query would hold SQLite's copy of the value and Python's at once (2x); incremental
    # blob I/O reads it in pieces into one buffer that becomes the bytes without a copy.
    connection.ensure_connection()
    buffer = io.BytesIO()
    try:
        blob = connection.connection.blobopen(Message._meta.db_table, "raw", message_id, readonly=True)
    except connection.Database.OperationalError:  # no such row
        raise Message.DoesNotExist(f"Message {message_id} does not exist") from None
    with blob:
        while piece := blob.read(CHUNK_BYTES):
            buffer.write(piece)
    return buffer.getvalue()


def _load_in_pieces(message_id: int) -> bytes:
    # In one piece, the bytes would sit in libpq's input buffer (kept by the connection), in the
    # query result and in Python at once: 3x the message. In pieces of LOAD_CHUNK_BYTES, binary
    # results appended to one buffer that becomes the bytes without a copy: 1x and a piece.
    connection.ensure_connection()
    table = connection.ops.quote_name(Message._meta.db_table)
    # psycopg's own server-binding cursor: Django's (client-binding) cursors cannot ask for binary results.
    with connection.Database.Cursor(connection.connection) as cursor:
        cursor.execute(f"SELECT octet_length(raw) FROM {table} WHERE id = %s", [message_id])
        row = cursor.fetchone()
        if row is None:
            raise Message.DoesNotExist(f"Message {message_id} does not exist")
        length, buffer = row[0], io.BytesIO()
        for start in range(0, length, LOAD_CHUNK_BYTES):
            cursor.execute(
                f"SELECT substring(raw FROM %s FOR %s) FROM {table} WHERE id = %s",
                [start + 1, LOAD_CHUNK_BYTES, message_id],
                binary=True,
            )
            row = cursor.fetchone()
            if row is None:  # deleted while being read
                raise Message.DoesNotExist(f"Message {message_id} does not exist")
            buffer.write(row[0])
            del row
    return buffer.getvalue()
