from django.apps import AppConfig


class MetricsConfig(AppConfig):
    """Prometheus metrics of every Maildog process (`instruments`), and their endpoints (`exposition`)."""

    name = "metrics"
    verbose_name = "Metrics"
