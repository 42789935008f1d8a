"""Checking an inbox's SMTP credentials."""

import functools
import hmac

from django.db import connection

from .models import Inbox


@functools.cache  # every login asks; the statement is the same for the life of the process
def _lookup_sql() -> str:
    quote = connection.ops.quote_name
    meta = Inbox._meta
    return (
        f"SELECT {quote(meta.pk.column)}, {quote(meta.get_field('smtp_password').column)} "
        f"FROM {quote(meta.db_table)} WHERE {quote(meta.get_field('smtp_username').column)} = %s"
    )


def _could_be_a_username(username: str) -> bool:
    # No stored username is longer or holds NUL, which PostgreSQL refuses in text with an error:
    # asking would answer a client's typo with "temporary failure" (454) instead of "invalid" (535).
    return len(username) <= Inbox._meta.get_field("smtp_username").max_length and "\x00" not in username


def find_inbox_id(username: str, password: str) -> int | None:
    """The id of the inbox these credentials open, or None.

    The password comparison takes the same time whether it matches or not.
    Every SMTP login asks this, so the query is written out (the username is
    unique): the ORM took ten times as long to build it as the database took
    to answer it.
    """
    row = None
    if _could_be_a_username(username):
        with connection.cursor() as cursor:
            cursor.execute(_lookup_sql(), [username])
            row = cursor.fetchone()
    if row is None:
        # Compare anyway, so an unknown user is not answered faster.
        hmac.compare_digest(password.encode(), b"-" * len(password.encode()))
        return None
    inbox_id, expected = row
    return inbox_id if hmac.compare_digest(password.encode(), expected.encode()) else None
