from django.apps import AppConfig


class InboxesConfig(AppConfig):
    name = "inboxes"

    def ready(self):
        from django.db.models.signals import post_migrate

        from .search.index import ensure_after_migrate

        # A migration that rebuilds the message table on SQLite drops its triggers: put them back.
        post_migrate.connect(ensure_after_migrate, sender=self)
