"""What an application needs to send into an inbox: host, ports, credentials, and the CA to trust.

Read from the settings, which the SMTP listeners (`smtpd/`) also follow: this
module is the one reading of `MAILDOG_SMTP_PORTS` and of where the development
CA lives, so `inboxes` never imports the SMTP side.
"""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

STARTTLS = "starttls"
IMPLICIT_TLS = "tls"


@dataclass(frozen=True)
class Listener:
    port: int
    mode: str  # STARTTLS or IMPLICIT_TLS


def parse_ports(value: str) -> list[Listener]:
    """Parse "2525:starttls,465:tls" into listeners; anything else is a configuration error."""
    listeners = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        port, _, mode = item.partition(":")
        mode = (mode or STARTTLS).strip().lower()
        if mode not in (STARTTLS, IMPLICIT_TLS) or not port.strip().isdigit():
            raise ImproperlyConfigured(f"MAILDOG_SMTP_PORTS: {item!r} is not PORT:starttls or PORT:tls")
        listeners.append(Listener(int(port), mode))
    if not listeners:
        raise ImproperlyConfigured("MAILDOG_SMTP_PORTS names no port")
    return listeners


def configured_listeners() -> list[Listener]:
    return parse_ports(settings.MAILDOG_SMTP_PORTS)


def uses_local_ca() -> bool:
    """True when no operator certificate is set: the SMTP certificate comes from Maildog's development CA."""
    return not (settings.MAILDOG_TLS_CERT and settings.MAILDOG_TLS_KEY)


def local_ca_path() -> Path:
    """Where the development CA's certificate is kept (made by the SMTP side at its first start)."""
    return settings.DATA_DIR / "tls" / "maildog-ca.pem"


def smtp_settings(inbox) -> dict:
    listeners = configured_listeners()
    starttls = [listener.port for listener in listeners if listener.mode == STARTTLS]
    implicit = [listener.port for listener in listeners if listener.mode == IMPLICIT_TLS]
    return {
        "host": settings.MAILDOG_SMTP_HOSTNAME,
        "port": (starttls or implicit)[0],
        "starttls_ports": starttls,
        "tls_ports": implicit,
        "username": inbox.smtp_username,
        "password": inbox.smtp_password,
        "inbox_id": inbox.pk,
    }
