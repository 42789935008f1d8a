from django.apps import AppConfig


class DeliverabilityConfig(AppConfig):
    """SPF, DKIM and DMARC checks on stored messages, started by `inboxes.signals`."""

    name = "deliverability"
    verbose_name = "Deliverability checks"

    def ready(self):
        from inboxes import rows

        from . import markers, receivers  # noqa: F401  (receivers connects the signal receivers)

        rows.add_flag(markers.row_marker)  # the marker in each row of the inbox list
