from django.apps import AppConfig


class FaultsConfig(AppConfig):
    """Fault injection per inbox: rules that make the SMTP listener refuse, delay or hang up."""

    name = "faults"
    verbose_name = "Fault injection"

    def ready(self):
        from . import receivers  # noqa: F401  (connects the signal receivers)
