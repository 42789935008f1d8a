from django.db import migrations, models

import inboxes.models

ATTACHMENT_NAMES = models.TextField(blank=True, default="", help_text="Attachment file names, one a line (for search).")


NEW_FIELDS = ("attachment_names", "search_vector")


def add_columns(apps, schema_editor):
    """The new columns; on SQLite the table is then rebuilt so that `raw` stays its last column (see 0003)."""
    message = apps.get_model("inboxes", "Message")
    sqlite = schema_editor.connection.vendor == "sqlite"
    for name in NEW_FIELDS:
        field = message._meta.get_field(name)
        if sqlite:
            # Appended after raw for a moment: the rebuild below puts them in the state's order.
            definition, params = schema_editor.column_sql(message, field, include_default=True)
            schema_editor.execute(
                f"ALTER TABLE {schema_editor.quote_name(message._meta.db_table)} "
                f"ADD COLUMN {schema_editor.quote_name(field.column)} {definition}",
                params,
            )
        else:
            schema_editor.add_field(message, field)
    if sqlite:
        schema_editor._remake_table(message)


def remove_columns(apps, schema_editor):
    message = apps.get_model("inboxes", "Message")
    for name in NEW_FIELDS:
        schema_editor.remove_field(message, message._meta.get_field(name))


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
        # attachment_names and search_vector, then raw moved back to the end of the state (no change in any database by itself).
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField("message", "attachment_names", ATTACHMENT_NAMES, preserve_default=False),
                migrations.AddField(
                    "message",
                    "search_vector",
                    inboxes.models.SearchVectorField(blank=True, editable=False, null=True),
                ),
                migrations.RemoveField("message", "raw"),
                migrations.AddField("message", "raw", models.BinaryField(default=b""), preserve_default=False),
            ]
        ),
        migrations.RunPython(add_columns, remove_columns),
        migrations.RunPython(create_index, drop_index),
    ]
