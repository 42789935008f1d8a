from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """The report on each message (content, HTML compatibility, spam score, links), stored with it."""

    name = "reports"
    verbose_name = "Message reports"
