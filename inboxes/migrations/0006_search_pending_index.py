from django.db import migrations


def create_pending_index(apps, schema_editor):
    """PostgreSQL: the partial index of messages whose search words are still to be written (search.indexer)."""
    from inboxes.search import index

    if schema_editor.connection.vendor == "postgresql":
        index.create(schema_editor.connection, fill=False)  # IF NOT EXISTS: adds only what is missing


def drop_pending_index(apps, schema_editor):
    from inboxes.search import index

    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX IF EXISTS {index.PG_PENDING_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("inboxes", "0005_search_whole_addresses")]

    operations = [migrations.RunPython(create_pending_index, drop_pending_index)]
