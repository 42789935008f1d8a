from django.apps import AppConfig


class InboxesConfig(AppConfig):
    name = "inboxes"

    def ready(self):
        from django.db.models.signals import post_migrate

        from .search import indexer
        from .search.index import ensure_after_migrate
        from .signals import ingest_started, ingest_stopping

        # A migration that rebuilds the message table on SQLite drops its triggers: put them back.
        post_migrate.connect(ensure_after_migrate, sender=self)
        ingest_started.connect(_start_search_indexer)
        ingest_stopping.connect(indexer.stop_indexer)


async def _start_search_indexer(sender, **kwargs):
    """PostgreSQL: the SMTP process writes its mail's search words after the 250, unless `runchecks` does."""
    from .search import indexer

    if indexer.runs_here_for_smtp():
        indexer.start_indexer()
