from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and teams"

    def ready(self):
        from . import log_filters, signals  # noqa: F401  (signals connects the sign-up receiver)

        # Django applies LOGGING before the apps are ready, so the filter is added after it, not replaced by it.
        log_filters.install()
