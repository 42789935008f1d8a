from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Webhooks per inbox: signed JSON POSTs on new messages and finished checks, delivered in the background."""

    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        from . import receivers  # noqa: F401  (connects the signal receivers)
