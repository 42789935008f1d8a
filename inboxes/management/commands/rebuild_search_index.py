import time

from django.core.management.base import BaseCommand
from django.db import connections, transaction

from inboxes.search import index


class Command(BaseCommand):
    help = (
        "Build the search index again from the stored messages: SQLite's FTS5 table and its triggers, or "
        "PostgreSQL's search_vector column and its GIN index. Searches keep working meanwhile on PostgreSQL; "
        "on SQLite the rebuild holds the write lock, so incoming mail waits (4xx and retry past the timeout)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default", help="The database alias to rebuild (default: default).")

    def handle(self, *args, **options):
        connection = connections[options["database"]]
        started = time.monotonic()
        if connection.vendor == "sqlite":
            with transaction.atomic(using=connection.alias):  # all or nothing
                index.rebuild(connection)
        else:
            index.rebuild(connection)  # batch by batch; ingest keeps writing meanwhile
        size = index.size_bytes(connection)
        self.stdout.write(
            f"Search index rebuilt on {connection.vendor} in {time.monotonic() - started:.1f} s "
            f"({size / 2**20:.1f} MB)."
        )
