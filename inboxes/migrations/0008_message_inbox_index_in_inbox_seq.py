import django.db.models.deletion
from django.db import migrations, models

# The index Django made for the foreign key (the same name on SQLite and PostgreSQL).
INDEX = "inboxes_message_inbox_id_44c4add6"


class Migration(migrations.Migration):
    """Message.inbox loses its own index: the unique (inbox, seq) index starts with the same column.

    Dropped by name rather than by AlterField, which on SQLite copies the whole message table.
    """

    dependencies = [("inboxes", "0007_inbox_mark_passing_mail")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="message",
                    name="inbox",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="inboxes.inbox",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {INDEX}",
                    reverse_sql=f"CREATE INDEX {INDEX} ON inboxes_message (inbox_id)",
                ),
            ],
        ),
    ]
