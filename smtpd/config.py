"""The SMTP listeners as configured by `MAILDOG_SMTP_PORTS`."""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

STARTTLS = "starttls"
IMPLICIT_TLS = "tls"


@dataclass(frozen=True)
class Listener:
    port: int
    mode: str  # STARTTLS or IMPLICIT_TLS


def parse_ports(value: str) -> list[Listener]:
    """Parse "2525:starttls,465:tls" into listeners."""
    listeners = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        port, _, mode = item.partition(":")
        mode = (mode or STARTTLS).strip().lower()
        if mode not in (STARTTLS, IMPLICIT_TLS) or not port.strip().isdigit():
            raise ImproperlyConfigured(
                f"MAILDOG_SMTP_PORTS: {item!r} is not PORT:starttls or PORT:tls"
            )
        listeners.append(Listener(int(port), mode))
    if not listeners:
        raise ImproperlyConfigured("MAILDOG_SMTP_PORTS names no port")
    return listeners


def configured_listeners() -> list[Listener]:
    return parse_ports(settings.MAILDOG_SMTP_PORTS)
