"""The SMTP listeners: start them on the running event loop, stop them gracefully."""

import asyncio
import logging
import socket
import ssl
import time
from functools import partial

from django.conf import settings

from inboxes.integration import IMPLICIT_TLS, STARTTLS, Listener, configured_listeners, parse_ports
from inboxes.signals import ingest_started, ingest_stopping
from maildog_site.logs import log_event

from .handler import MaildogHandler
from .protocol import CLOSE_TIMEOUT, MaildogSMTP
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
            # The listening socket is plain TCP on every port: the session is
            # counted at accept and the handshake runs under its own timeout.
            implicit_tls_context=self.tls_context if listener.mode == IMPLICIT_TLS else None,
            hostname=self.hostname,
            ident="Maildog ESMTP",
            tls_context=self.tls_context if listener.mode == STARTTLS else None,
            auth_required=True,
            auth_require_tls=not settings.MAILDOG_SMTP_ALLOW_PLAINTEXT_AUTH,
            data_size_limit=settings.MAILDOG_MAX_MESSAGE_BYTES,
            enable_SMTPUTF8=True,
            decode_data=False,
            loop=asyncio.get_running_loop(),
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.handler.writer.start()
        for listener in self.listeners:
            server = await loop.create_server(
                partial(self._protocol, listener),
                host=self.bind,
                port=listener.port,
                # A burst of connections waits in the kernel's queue until accepted
                # (then counted, or refused with 421), instead of being dropped.
                backlog=max(100, settings.MAILDOG_MAX_SESSIONS),
                reuse_address=True,
                # Several smtp processes on one machine may share the port; the kernel spreads connections.
                reuse_port=settings.MAILDOG_SMTP_REUSE_PORT,
                family=socket.AF_INET6 if ":" in self.bind else socket.AF_INET,
            )
            self.servers.append(server)
            port = server.sockets[0].getsockname()[1]
            self.bound.append((listener, port))
            # The commands print "SMTP listening on ..." for people (serve, runsmtp): at INFO this
            # line said the same again, so every listener appeared twice.
            log.debug("smtp listening on %s:%s (%s)", self.bind, port, listener.mode)
        await ingest_started.asend(sender=SMTPService, busy=lambda: self.handler.writer.busy)

    def port_for(self, mode: str) -> int:
        """The first bound port of a mode (port 0 in the settings picks a free one)."""
        return next(port for listener, port in self.bound if listener.mode == mode)

    @property
    def accepting(self) -> bool:
        return bool(self.servers) and all(server.is_serving() for server in self.servers)

    async def stop(self, grace: float) -> None:
        """Stop accepting, let sessions in flight finish for `grace` seconds, then close.

        Sessions that cannot be carrying a message (not logged in, or finished
        with only the connection left open) are closed at once, with 421.
        Background work (the checks) gets what is left of the grace.
        """
        stop_by = time.monotonic() + grace
        handler = self.handler
        handler.shutting_down = True
        for server in self.servers:
            server.close()
        closed = handler.close_sessions(all_of_them=False)
        sessions = handler.sessions
        try:
            await asyncio.wait_for(sessions.idle.wait(), timeout=grace * 0.9)
        except asyncio.TimeoutError:
            log_event(log, "smtp_shutdown_closing", logging.WARNING, sessions=len(sessions), grace=grace)
            closed += handler.close_sessions(all_of_them=True)
        # Let the closed connections go (and their sessions be logged), within the grace.
        deadline = time.monotonic() + min(CLOSE_TIMEOUT + 0.5, grace * 0.1)
        while any(not server.lost for server in closed) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for server in self.servers:
            await server.wait_closed()
        self.servers.clear()
        await asyncio.to_thread(handler.writer.stop)
        # Live events of messages already answered with 250 still go out before the loop ends.
        await handler.announcer.drain(timeout=5)
        if handler.background:
            await asyncio.wait(set(handler.background), timeout=5)
        # Background work (the checks) gets what is left of the grace: the whole stop fits in it.
        await ingest_stopping.asend(sender=SMTPService, grace=max(0.0, stop_by - time.monotonic()))


def build_service(bind: str | None = None, ports: str | None = None) -> SMTPService:
    """The SMTP service as the settings (or the given overrides) describe it."""
    listeners = parse_ports(ports) if ports else configured_listeners()
    return SMTPService(
        listeners,
        bind=bind or settings.MAILDOG_SMTP_BIND,
        hostname=settings.MAILDOG_SMTP_HOSTNAME,
        tls_context=server_context(tls_files()),
    )
