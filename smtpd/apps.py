from django.apps import AppConfig


class SmtpdConfig(AppConfig):
    name = "smtpd"
    verbose_name = "SMTP server"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
