"""What an application needs to send into an inbox: host, ports, credentials."""

from django.conf import settings

from smtpd.config import IMPLICIT_TLS, STARTTLS, configured_listeners


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
