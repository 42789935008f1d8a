"""Long-running processes do not record their queries, even with DEBUG on.

With DEBUG on, Django wraps every cursor to record each query (its SQL and
time) in `connection.queries`, for a request's debugging. The SMTP listener
and the checks run millions of queries and nobody reads that list: recording
them only costs time. `stop_recording_queries()` keeps it for code that asks
for it explicitly (`force_debug_cursor`, as `CaptureQueriesContext` does).
"""

from django.db.backends.signals import connection_created


def _plain_cursors(sender, connection, **kwargs):
    debug_cursor = connection.make_debug_cursor

    def make_debug_cursor(cursor):
        if connection.force_debug_cursor:
            return debug_cursor(cursor)
        return connection.make_cursor(cursor)

    connection.make_debug_cursor = make_debug_cursor


def stop_recording_queries() -> None:
    """From now on, this process's new database connections record no queries unless forced."""
    connection_created.connect(_plain_cursors, dispatch_uid="maildog-plain-cursors")
