# ApiToken moved to the `api` app (api/migrations/0001_initial.py takes it over).
# The table and its rows stay: the table is renamed to the new app's default name,
# and ApiToken leaves this app's state without any DROP.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_invitation_expiry_and_decline'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name='ApiToken', table='api_apitoken'),
            ],
            state_operations=[
                migrations.DeleteModel(name='ApiToken'),
            ],
        ),
    ]
