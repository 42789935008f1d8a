from django.db import migrations


def write_words_after_the_250(apps, schema_editor):
    """SQLite: FTS5 entries are written by the indexer after the 250 (inboxes.search.index), no longer by
    an insert trigger inside the ingest transaction: the trigger goes, and the mark says that every
    message stored so far is written."""
    from inboxes.search import index

    if schema_editor.connection.vendor == "sqlite":
        index.create(schema_editor.connection)  # adds what is missing; the FTS5 table is kept as it is


class Migration(migrations.Migration):
    dependencies = [("inboxes", "0007_inbox_mark_passing_mail")]

    # Going back needs no step here: the earlier code finds its insert trigger missing after migrating
    # and rebuilds its index (index.ensure_after_migrate).
    operations = [migrations.RunPython(write_words_after_the_250, migrations.RunPython.noop)]
