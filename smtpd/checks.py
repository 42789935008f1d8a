"""System checks for deployment mistakes that would otherwise show up as odd runtime failures."""

import os
import ssl

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def check_tls_files(app_configs, **kwargs):
    """MAILDOG_TLS_CERT and MAILDOG_TLS_KEY: both or neither, readable, and a matching pair."""
    cert, key = settings.MAILDOG_TLS_CERT, settings.MAILDOG_TLS_KEY
    if not cert and not key:
        return []  # the local development CA signs a certificate
    if not (cert and key):
        return [
            Error(
                "MAILDOG_TLS_CERT and MAILDOG_TLS_KEY must be set together.",
                hint="Set both to PEM files (certificate chain and private key), or neither for the local CA.",
                id="maildog.E001",
            )
        ]
    unreadable = [path for path in (cert, key) if not os.access(path, os.R_OK)]
    if unreadable:
        return [
            Error(
                f"TLS file not readable: {', '.join(unreadable)}.",
                hint="Check the path and that the user running Maildog may read it.",
                id="maildog.E002",
            )
        ]
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        return [
            Error(
                f"MAILDOG_TLS_CERT/MAILDOG_TLS_KEY cannot be loaded: {exc}.",
                hint="Use a PEM certificate chain and its unencrypted PEM private key.",
                id="maildog.E003",
            )
        ]
    return []


@register()
def check_channel_layer(app_configs, **kwargs):
    """A shared database without Redis: live updates stop at the process that stored the message."""
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "django.db.backends.sqlite3" and not settings.REDIS_URL:
        return [
            Warning(
                "DATABASE_URL points at a database server but REDIS_URL is not set.",
                hint=(
                    "Separate web and smtp processes need Redis for live updates: without it, "
                    "new messages reach browsers only after a reload."
                ),
                id="maildog.W001",
            )
        ]
    return []


@register()
def check_retention(app_configs, **kwargs):
    if settings.MAILDOG_MAX_MESSAGE_AGE_DAYS < 0:
        return [
            Error(
                "MAILDOG_MAX_MESSAGE_AGE_DAYS cannot be negative.",
                hint="Use 0 to keep messages until the inbox's cap removes them.",
                id="maildog.E004",
            )
        ]
    return []
