"""The SMTP listeners: start them on the running event loop, stop them gracefully."""

import asyncio
import logging
import socket
import ssl
from functools import partial

from django.conf import settings

from inboxes.signals import ingest_started, ingest_stopping

from .config import IMPLICIT_TLS, STARTTLS, Listener, configured_listeners, parse_ports
from .handler import MaildogHandler, MaildogSMTP
from .tls import server_context, tls_files

log = logging.getLogger("maildog.smtp")


class SMTPService:
    """All configured SMTP listeners, sharing one handler (limits, throttle)."""

    def __init__(self, listeners: list[Listener], bind: str, hostname: str, tls_context: ssl.SSLContext):
        self.listeners = listeners
        self.bind = bind
        self.hostname = hostname
        self.tls_context = tls_context
        self.handler = MaildogHandler()
        self.servers: list[asyncio.base_events.Server] = []
        self.bound: list[tuple[Listener, int]] = []

    def _protocol(self, listener: Listener) -> MaildogSMTP:
        return MaildogSMTP(
            self.handler,
            implicit_tls=listener.mode == IMPLICIT_TLS,
            hostname=self.hostname,
            ident="Maildog ESMTP",
            tls_context=self.tls_context if listener.mode == STARTTLS else None,
            auth_required=True,
            auth_require_tls=not settings.MAILDOG_SMTP_ALLOW_PLAINTEXT_AUTH,
            data_size_limit=settings.MAILDOG_MAX_MESSAGE_BYTES,
            enable_SMTPUTF8=True,
            decode_data=False,
            timeout=settings.MAILDOG_SMTP_TIMEOUT,
            loop=asyncio.get_running_loop(),
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for listener in self.listeners:
            server = await loop.create_server(
                partial(self._protocol, listener),
                host=self.bind,
                port=listener.port,
                ssl=self.tls_context if listener.mode == IMPLICIT_TLS else None,
                reuse_address=True,
                family=socket.AF_INET6 if ":" in self.bind else socket.AF_INET,
            )
            self.servers.append(server)
            port = server.sockets[0].getsockname()[1]
            self.bound.append((listener, port))
            log.info("smtp listening on %s:%s (%s)", self.bind, port, listener.mode)
        await ingest_started.asend(sender=SMTPService, busy=lambda: self.handler.writer.busy)

    def port_for(self, mode: str) -> int:
        """The first bound port of a mode (port 0 in the settings picks a free one)."""
        return next(port for listener, port in self.bound if listener.mode == mode)

    @property
    def accepting(self) -> bool:
        return bool(self.servers) and all(server.is_serving() for server in self.servers)

    async def stop(self, grace: float) -> None:
        """Stop accepting, let sessions in flight finish for `grace` seconds, then close."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        self.handler.shutting_down = True
        for server in self.servers:
            server.close()
        try:
            await asyncio.wait_for(self.handler.idle.wait(), timeout=grace)
        except asyncio.TimeoutError:
            log.warning("smtp shutdown: closing %d sessions after %ss", len(self.handler.sessions), grace)
            for session in list(self.handler.sessions):
                if session.transport is not None:
                    session.transport.write(b"421 4.3.2 Service shutting down, try again later\r\n")
                    session.transport.close()
        for server in self.servers:
            await server.wait_closed()
        self.servers.clear()
        # Live events of messages already answered with 250 still go out before the loop ends.
        if self.handler.background:
            await asyncio.wait(set(self.handler.background), timeout=5)
        # Background work (the checks) gets what is left of the grace: the whole stop fits in it.
        await ingest_stopping.asend(sender=SMTPService, grace=max(0.0, deadline - loop.time()))


def build_service(bind: str | None = None, ports: str | None = None) -> SMTPService:
    """The SMTP service as the settings (or the given overrides) describe it."""
    listeners = parse_ports(ports) if ports else configured_listeners()
    return SMTPService(
        listeners,
        bind=bind or settings.MAILDOG_SMTP_BIND,
        hostname=settings.MAILDOG_SMTP_HOSTNAME,
        tls_context=server_context(tls_files()),
    )
