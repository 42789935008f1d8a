"""Loading a message's raw source with as few copies in memory as the database allows.

Django reads PostgreSQL `bytea` in text form: the hex text is twice the
message's size, and unescaping it and copying it into Python bytes make a
25 MB message cost about 4x its size just to load. With psycopg 3, a binary
result carries the bytes as stored, so loading costs 2x at its peak and 1x
once loaded. Other databases (SQLite) already hand the blob over in binary.
"""

from django.db import connection

from .models import Message


def load_raw(message_id: int) -> bytes:
    """The raw source of message `message_id`, byte for byte as stored (Message.DoesNotExist if none)."""
    if connection.vendor == "postgresql" and connection.Database.__name__ == "psycopg":
        connection.ensure_connection()
        table = connection.ops.quote_name(Message._meta.db_table)
        # psycopg's own server-binding cursor: Django's (client-binding) cursors cannot ask for binary results.
        with connection.Database.Cursor(connection.connection) as cursor:
            cursor.execute(f"SELECT raw FROM {table} WHERE id = %s", [message_id], binary=True)
            row = cursor.fetchone()
        if row is None:
            raise Message.DoesNotExist(f"Message {message_id} does not exist")
        return bytes(row[0])
    # bytes(bytes) is the object itself: no copy.
    return bytes(Message.objects.filter(pk=message_id).values_list("raw", flat=True).get())
