"""The SMTP protocol layer: who may send, what is refused, and when 250 is said.

Storage is not done here: `inboxes.ingest.ingest` stores the message and this
module only turns its outcome into SMTP replies.
"""

import asyncio
import logging
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError

from inboxes import events
from inboxes.credentials import find_inbox_id
from inboxes.ingest import Incoming, SessionFacts
from inboxes.models import Message
from inboxes.signals import message_stored
from maildog_site.logs import log_event

from .batching import BatchWriter, close_stale_connection
from .throttle import AuthThrottle

log = logging.getLogger("maildog.smtp")


class CredentialsToCheck:
    """Decoded AUTH credentials on their way to the (async) credential check."""

    def __init__(self, login_password: LoginPassword):
        self.login_password = login_password


def _find_inbox_id(username: str, password: str):
    close_stale_connection()
    return find_inbox_id(username, password)


def _auth_username(session) -> str:
    if isinstance(session.auth_data, LoginPassword):
        return session.auth_data.login.decode("utf-8", "replace")
    return ""


class MaildogSMTP(SMTP):
    """aiosmtpd's SMTP with an async credential check and implicit-TLS awareness."""

    def __init__(self, handler, *, implicit_tls: bool = False, **kwargs):
        # Lines over SMTP's 1,000 octets are accepted (and flagged when stored):
        # the stream limit only has to hold the largest message we take.
        self.line_length_limit = settings.MAILDOG_MAX_MESSAGE_BYTES + 1024
        self.implicit_tls = implicit_tls
        # Per-connection facts; aiosmtpd's Session is replaced after STARTTLS.
        self.client = ""
        self.inbox_id = None
        self.stored: list[int] = []
        self.refusals: list[str] = []  # 4xx/5xx reply codes, for the session log
        super().__init__(handler, **kwargs)
        self.command_size_limit = 1024

    def connection_made(self, transport):
        first_connection = self.transport is None
        super().connection_made(transport)
        if first_connection:
            if self.implicit_tls:
                # TLS from the first byte: the connection already meets AUTH's TLS requirement.
                self._auth_require_tls = False
            self.event_handler.session_opened(self)

    def eof_received(self):
        super().eof_received()
        # The client closed its side: close ours, so the session ends now
        # (aiosmtpd leaves a plain-TCP transport half-open otherwise).
        return False

    def connection_lost(self, error):
        self.event_handler.session_closed(self)
        super().connection_lost(error)

    async def push(self, status):
        if status[:1] in ("4", "5", b"4", b"5"):
            self.refusals.append(str(status[:3], "ascii") if isinstance(status, bytes) else status[:3])
        await super().push(status)

    @property
    def outcome(self) -> str:
        """stored, partial (some stored, some refused), refused, or no_message."""
        if self.stored:
            return "partial" if self.refusals else "stored"
        return "refused" if self.refusals else "no_message"

    # aiosmtpd decodes AUTH PLAIN/LOGIN and then calls the synchronous
    # `_authenticate`, where the ORM cannot run. Hand the credentials back
    # instead and check them with an await.
    def _authenticate(self, mechanism, auth_data):
        return AuthResult(success=False, handled=True, auth_data=CredentialsToCheck(auth_data))

    async def _check(self, result: AuthResult) -> AuthResult:
        if isinstance(result.auth_data, CredentialsToCheck):
            return await self.event_handler.check_credentials(self, result.auth_data.login_password)
        return result

    async def auth_PLAIN(self, arg, args):
        return await self._check(await super().auth_PLAIN(arg, args))

    async def auth_LOGIN(self, arg, args):
        return await self._check(await super().auth_LOGIN(arg, args))

    def tls_facts(self) -> tuple[str, str]:
        ssl_object = self.transport.get_extra_info("ssl_object") if self.transport else None
        if ssl_object is None:
            return "", ""
        return ssl_object.version() or "", (ssl_object.cipher() or ("",))[0]


class MaildogHandler:
    """aiosmtpd handler: limits, credentials and the hand-off to storage."""

    def __init__(self):
        self.throttle = AuthThrottle(settings.MAILDOG_AUTH_MAX_FAILURES, settings.MAILDOG_AUTH_FAILURE_WINDOW)
        self.sessions: dict[MaildogSMTP, float] = {}
        self.sessions_per_client: dict[str, int] = {}
        self.idle = asyncio.Event()
        self.idle.set()
        self.shutting_down = False
        self.background: set[asyncio.Task] = set()
        self.writer = BatchWriter()

    # --- sessions ---------------------------------------------------------
    def session_opened(self, server: MaildogSMTP) -> None:
        client = server.client = server.session.peer[0] if server.session.peer else ""
        self.sessions[server] = time.monotonic()
        self.sessions_per_client[client] = self.sessions_per_client.get(client, 0) + 1
        self.idle.clear()
        if (
            len(self.sessions) > settings.MAILDOG_MAX_SESSIONS
            or self.sessions_per_client[client] > settings.MAILDOG_MAX_SESSIONS_PER_CLIENT
        ):
            # Said before the banner is read: the client sees 421 and retries later.
            server.refusals.append("421")
            server.transport.write(b"421 4.7.0 Too many connections, try again later\r\n")
            server.transport.close()

    def session_closed(self, server: MaildogSMTP) -> None:
        started = self.sessions.pop(server, None)
        if started is None:
            return
        session = server.session
        client = server.client
        remaining = self.sessions_per_client.get(client, 1) - 1
        if remaining:
            self.sessions_per_client[client] = remaining
        else:
            self.sessions_per_client.pop(client, None)
        if not self.sessions:
            self.idle.set()
        # Facts only: never message content or passwords.
        log_event(
            log, "smtp_session",
            client=client,
            helo=session.host_name or "",
            auth_user=_auth_username(session),
            inbox=server.inbox_id,
            outcome=server.outcome,
            messages=server.stored,
            refusals=server.refusals,
            duration_ms=round((time.monotonic() - started) * 1000),
        )

    # --- AUTH -------------------------------------------------------------
    async def check_credentials(self, server: MaildogSMTP, credentials: LoginPassword) -> AuthResult:
        client = server.client
        if self.throttle.is_blocked(client):
            return AuthResult(
                success=False, handled=False,
                message="454 4.7.0 Too many failed logins from your address, try again later",
            )
        username = credentials.login.decode("utf-8", "replace")
        password = credentials.password.decode("utf-8", "replace")
        try:
            inbox_id = await sync_to_async(_find_inbox_id)(username, password)
        except DatabaseError:
            log.exception("smtp auth lookup failed client=%s", client)
            return AuthResult(
                success=False, handled=False, message="454 4.7.0 Temporary authentication failure"
            )
        if inbox_id is None:
            await asyncio.sleep(self.throttle.record_failure(client))
            log.info("smtp auth failed client=%s user=%s", client, username)
            return AuthResult(
                success=False, handled=False, message="535 5.7.8 Authentication credentials invalid"
            )
        self.throttle.record_success(client)
        server.inbox_id = inbox_id
        return AuthResult(success=True, auth_data=credentials)

    # --- envelope ---------------------------------------------------------
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.shutting_down:
            # Between messages during shutdown: the client retries elsewhere or later.
            return "421 4.3.2 Service shutting down, try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if len(envelope.rcpt_tos) >= settings.MAILDOG_MAX_RECIPIENTS:
            return f"452 4.5.3 Too many recipients (at most {settings.MAILDOG_MAX_RECIPIENTS} per message)"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: MaildogSMTP, session, envelope):
        tls_version, tls_cipher = server.tls_facts()
        facts = SessionFacts(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            client_ip=session.peer[0] if session.peer else None,
            helo=session.host_name or "",
            tls_version=tls_version,
            tls_cipher=tls_cipher,
            auth_username=_auth_username(session),
        )
        try:
            message = await self.writer.store(Incoming(server.inbox_id, envelope.original_content, facts))
        except Exception:
            # Whatever failed (database locked or down, disk full, a bug), the
            # transaction was rolled back: tell the client to retry later.
            log.exception("smtp storing failed client=%s inbox=%s", server.client, server.inbox_id)
            return "451 4.3.0 Message not stored, please try again later"
        server.stored.append(message.pk)
        self._announce(message)
        # Whoever reacts to stored mail (the deliverability checks) queues its work and returns.
        await message_stored.asend(sender=Message, message=message)
        return f"250 2.0.0 OK id={message.pk}"

    def _announce(self, message) -> None:
        """Tell open pages and waiting API clients, without delaying the 250."""
        task = asyncio.ensure_future(events.amessage_received(message))
        self.background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task) -> None:
        self.background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The message is stored; only the live notification was lost.
            log.error("smtp live event failed: %r", task.exception())
