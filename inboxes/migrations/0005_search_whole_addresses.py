from django.db import migrations


def rebuild_index(apps, schema_editor):
    """The index again, with each whole address as one word (and, on SQLite, FTS5 without column sizes).

    Reads every message once (search_vector is rewritten): on a large inbox
    this takes minutes, like `manage.py rebuild_search_index`.
    """
    from django.db import transaction

    from inboxes.search import index

    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        with transaction.atomic(using=connection.alias):  # all or nothing, and one commit
            index.rebuild(connection)
    else:
        index.rebuild(connection)  # batch by batch, as rebuild_search_index does


class Migration(migrations.Migration):
    # Not one transaction on PostgreSQL: the vectors are written batch by batch, then the GIN index built.
    atomic = False

    dependencies = [("inboxes", "0004_message_search_index")]

    operations = [migrations.RunPython(rebuild_index, migrations.RunPython.noop)]
