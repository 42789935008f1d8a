from django.db import migrations, models


class Migration(migrations.Migration):
    """Field names that say what they hold: the SMTP login, and the deliverability (SPF/DKIM/DMARC) results."""

    dependencies = [("inboxes", "0001_initial")]

    operations = [
        migrations.RenameField("message", "auth_username", "smtp_username"),
        migrations.RenameField("message", "auth_verdict", "deliverability_verdict"),
        migrations.RenameField("message", "auth_results", "deliverability_results"),
        migrations.RenameField("message", "auth_checked_at", "deliverability_checked_at"),
        migrations.AlterField(
            model_name="message",
            name="smtp_username",
            field=models.CharField(
                blank=True, help_text="The username the client logged in with (SMTP AUTH).", max_length=255
            ),
        ),
    ]
