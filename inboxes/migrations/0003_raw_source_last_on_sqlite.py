from django.db import migrations, models


def rebuild_with_raw_last(apps, schema_editor):
    """SQLite only: rebuild the message table so that `raw` is its last column.

    SQLite keeps a row as one record: while a column follows a large blob, every
    insert or update of the row copies the whole blob again (a 25 MB message
    cost 3x its size to store; with `raw` last, 1.2x). Other databases keep
    large values apart from the row and need nothing.
    """
    if schema_editor.connection.vendor != "sqlite":
        return
    # Django's own table rebuild (what AlterField does on SQLite), with the column
    # order of the state below, where `raw` comes last.
    schema_editor._remake_table(apps.get_model("inboxes", "Message"))


class Migration(migrations.Migration):
    dependencies = [("inboxes", "0002_honest_message_field_names")]

    operations = [
        # The same field, moved to the end of the model's state (no change in any database).
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField("message", "raw"),
                migrations.AddField("message", "raw", models.BinaryField(default=b""), preserve_default=False),
            ]
        ),
        migrations.RunPython(rebuild_with_raw_last, migrations.RunPython.noop),
    ]
