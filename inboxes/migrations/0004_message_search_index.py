from django.db import migrations, models

ATTACHMENT_NAMES = models.TextField(blank=True, default="", help_text="Attachment file names, one a line (for search).")


def add_attachment_names(apps, schema_editor):
    """The new column, keeping `raw` the last column on SQLite (see 0003)."""
    message = apps.get_model("inboxes", "Message")
    if schema_editor.connection.vendor == "sqlite":
        schema_editor._remake_table(message, create_field=message._meta.get_field("attachment_names"))
    else:
        schema_editor.add_field(message, message._meta.get_field("attachment_names"))


def remove_attachment_names(apps, schema_editor):
    message = apps.get_model("inboxes", "Message")
    schema_editor.remove_field(message, message._meta.get_field("attachment_names"))


def create_index(apps, schema_editor):
    """The full-text index: FTS5 table and triggers on SQLite, tsvector column and GIN index on PostgreSQL."""
    from inboxes.search import index

    index.create(schema_editor.connection)


def drop_index(apps, schema_editor):
    from inboxes.search import index

    index.drop(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("inboxes", "0003_raw_source_last_on_sqlite")]

    operations = [
        # attachment_names, then raw moved back to the end of the state (no change in any database by itself).
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField("message", "attachment_names", ATTACHMENT_NAMES, preserve_default=False),
                migrations.RemoveField("message", "raw"),
                migrations.AddField("message", "raw", models.BinaryField(default=b""), preserve_default=False),
            ]
        ),
        migrations.RunPython(add_attachment_names, remove_attachment_names),
        migrations.RunPython(create_index, drop_index),
    ]
