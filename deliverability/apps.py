from django.apps import AppConfig


class DeliverabilityConfig(AppConfig):
    """SPF, DKIM and DMARC checks on stored messages, started by `inboxes.signals`."""

    name = "deliverability"
    verbose_name = "Deliverability checks"

    def ready(self):
        from . import receivers  # noqa: F401  (connects the signal receivers)
