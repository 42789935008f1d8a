from django.apps import AppConfig


class SmtpdConfig(AppConfig):
    name = "smtpd"
    verbose_name = "SMTP server"
