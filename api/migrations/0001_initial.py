# ApiToken, moved here from `accounts`: accounts' migration 0004 renamed its table
# (accounts_apitoken → api_apitoken, rows kept), so this one only adds the model to
# this app's state, and moves its content type (and so its permissions and admin
# log entries) from accounts to api.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor, old, new):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    db = schema_editor.connection.alias
    # A fresh database has no content types yet (post_migrate makes them); one that already has the
    # new label keeps it and the old one stays for `remove_stale_contenttypes`.
    if not ContentType.objects.using(db).filter(app_label=new, model='apitoken').exists():
        ContentType.objects.using(db).filter(app_label=old, model='apitoken').update(app_label=new)


def forwards(apps, schema_editor):
    move_content_type(apps, schema_editor, 'accounts', 'api')


def backwards(apps, schema_editor):
    move_content_type(apps, schema_editor, 'api', 'accounts')


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0004_apitoken_moved_to_api'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('inboxes', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ApiToken',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('key_hash', models.CharField(max_length=64, unique=True)),
                        ('prefix', models.CharField(help_text="The key's first characters, to recognise it.", max_length=12)),
                        ('created', models.DateTimeField(default=django.utils.timezone.now)),
                        ('last_used_at', models.DateTimeField(blank=True, null=True)),
                        ('inbox', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to='inboxes.inbox')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'ordering': ['-created'],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
