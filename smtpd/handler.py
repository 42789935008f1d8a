"""The SMTP handler: who may send, what is refused, and when 250 is said.

Storage is not done here: the group commit (`smtpd.batching`, through
`inboxes.ingest.store_each`) stores each message and hands back its own
outcome, which this module turns into `250` or `451`. Each group commit is
announced once, in commit order (`inboxes.events.Announcer`: one live event
per inbox), and after a `250` it sends `inboxes.signals.message_stored` for
whoever reacts to stored mail; it never calls those apps.
"""

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from aiosmtpd.smtp import AuthResult, LoginPassword
from django.conf import settings
from django.db import DatabaseError

from faults import smtp as faults
from inboxes import events
from inboxes.credentials import find_inbox_id
from inboxes.ingest import Incoming, SessionFacts, close_stale_connection
from inboxes.models import Message
from inboxes.signals import message_stored
from maildog_site.logs import log_event

from .batching import BatchWriter
from .protocol import MaildogSMTP
from .sessions import SessionTable
from .throttle import AuthThrottle

log = logging.getLogger("maildog.smtp")


# Credentials are looked up on threads of their own, not behind the group commits in the storing
# thread (a new connection's AUTH would wait for the writes of the messages before it), and through a
# plain executor: asgiref's hop cost more CPU than the lookup.
_credentials_threads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="maildog-auth")


def _find_inbox_id(username: str, password: str):
    close_stale_connection(at_most_every=1.0)
    return find_inbox_id(username, password)


def _auth_username(session) -> str:
    if session is not None and isinstance(session.auth_data, LoginPassword):
        return session.auth_data.login.decode("utf-8", "replace")
    return ""


class MaildogHandler:
    """aiosmtpd handler: limits, credentials and the hand-off to storage."""

    def __init__(self):
        self.throttle = AuthThrottle(settings.MAILDOG_AUTH_MAX_FAILURES, settings.MAILDOG_AUTH_FAILURE_WINDOW)
        self.sessions = SessionTable()
        self.shutting_down = False
        self.background: set[asyncio.Task] = set()
        # Open pages and waiting API clients hear of each group commit once, in order, without delaying the 250.
        self.announcer = events.Announcer()
        self.writer = BatchWriter(on_stored=self.announcer.announce)

    # --- sessions ---------------------------------------------------------
    def session_opened(self, server: MaildogSMTP) -> bool:
        """Count a new TCP connection in (before any TLS); False when it is refused and closed."""
        refusal = self.sessions.admit(server, settings.MAILDOG_MAX_SESSIONS, settings.MAILDOG_MAX_SESSIONS_PER_CLIENT)
        if not refusal:
            return True
        server.refused_at_accept = True
        server.reason = refusal
        # Said before the banner, the client sees 421 and retries later. On an
        # implicit-TLS port nothing can be said before a handshake: closed without one.
        server.close_now("421 4.7.0 Too many connections, try again later")
        return False

    def session_closed(self, server: MaildogSMTP) -> None:
        """Stop counting the session and write its one log line."""
        self.sessions.discharge(server)
        session = server.session
        fields: dict[str, object] = {
            "client": server.client,
            "helo": (session.host_name if session else "") or "",
            "auth_user": _auth_username(session),
            "inbox": server.inbox_id,
            "outcome": server.outcome,
        }
        if server.reason:
            fields["reason"] = server.reason
        # Facts only: never message content or passwords.
        log_event(
            log,
            "smtp_session",
            logging.INFO,
            **fields,
            messages=server.stored,
            refusals=server.refusals,
            duration_ms=round((time.monotonic() - server.started) * 1000),
            **faults.log_fields(server),
        )

    def close_sessions(self, *, all_of_them: bool) -> list[MaildogSMTP]:
        """Close sessions now (421 where it can still be said); return them.

        Without `all_of_them`, only those that cannot be carrying a message:
        finished ones whose connection lingers and those not logged in.
        """
        closed = []
        for server in self.sessions:
            if all_of_them or server.finished or server.evictable:
                server.close_now("421 4.3.2 Service shutting down, try again later", reason="shutdown")
                self.sessions.discharge(server)
                closed.append(server)
        return closed

    # --- AUTH -------------------------------------------------------------
    async def check_credentials(self, server: MaildogSMTP, credentials: LoginPassword) -> AuthResult:
        client = server.client
        if not await self.throttle.begin(client):
            return AuthResult(
                success=False,
                handled=False,
                message="454 4.7.0 Too many failed logins from your address, try again later",
            )
        username = credentials.login.decode("utf-8", "replace")
        password = credentials.password.decode("utf-8", "replace")
        server.checking_credentials = True
        inbox_id = None
        lookup_failed = False
        try:
            inbox_id = await asyncio.get_running_loop().run_in_executor(
                _credentials_threads, _find_inbox_id, username, password
            )
        except DatabaseError:
            lookup_failed = True  # not the client's fault: not counted
            log_event(log, "smtp_auth_lookup_failed", logging.ERROR, exc_info=True, client=client)
        finally:
            server.checking_credentials = False
            # Always give the slot back, also when the session is cancelled mid-check:
            # a slot kept forever would make every later attempt from the client wait.
            delay = self.throttle.end(client, failed=inbox_id is None and not lookup_failed)
        if lookup_failed:
            return AuthResult(success=False, handled=False, message="454 4.7.0 Temporary authentication failure")
        if inbox_id is None:
            await asyncio.sleep(delay)
            log_event(log, "smtp_auth_failed", client=client, user=username)
            return AuthResult(success=False, handled=False, message="535 5.7.8 Authentication credentials invalid")
        if refusal := await faults.at_auth(server, inbox_id):
            return AuthResult(success=False, handled=False, message=refusal)
        server.inbox_id = inbox_id
        return AuthResult(success=True, auth_data=credentials)

    # --- envelope ---------------------------------------------------------
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.shutting_down:
            # Between messages during shutdown: the client retries elsewhere or later.
            return "421 4.3.2 Service shutting down, try again later"
        if refusal := await faults.at_mail(server, address):
            return refusal
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if len(envelope.rcpt_tos) >= settings.MAILDOG_MAX_RECIPIENTS:
            return f"452 4.5.3 Too many recipients (at most {settings.MAILDOG_MAX_RECIPIENTS} per message)"
        if refusal := await faults.at_rcpt(server, envelope.mail_from or "", address):
            return refusal
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
            smtp_username=_auth_username(session),
        )
        assert server.inbox_id is not None, "DATA is only reached after AUTH (auth_required)"
        if (refusal := await faults.at_data(server, facts.mail_from, facts.rcpt_tos)) is not None:
            return refusal or None  # None: a fault rule closed the connection (no reply, nothing stored)
        try:
            message = await self.writer.store(Incoming(server.inbox_id, envelope.original_content, facts))
        except Exception:
            # Whatever failed (database locked or down, disk full, a bug), the
            # transaction was rolled back: tell the client to retry later.
            log_event(
                log, "smtp_store_failed", logging.ERROR, exc_info=True, client=server.client, inbox=server.inbox_id
            )
            return "451 4.3.0 Message not stored, please try again later"
        server.stored.append(message.pk)
        await faults.before_250(server, message)
        # Whoever reacts to stored mail (the deliverability checks) queues its work and returns.
        await message_stored.asend(sender=Message, message=message)
        return f"250 2.0.0 OK id={message.pk}"
