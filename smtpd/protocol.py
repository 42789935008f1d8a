"""aiosmtpd's SMTP protocol with Maildog's limits, TLS handling and DATA reading.

- Command lines and AUTH answers are limited to `MAILDOG_SMTP_MAX_COMMAND_BYTES`:
  the stream reader keeps that limit for the whole session, and DATA reads
  longer lines in pieces (`smtpd.data`), so a connection that has not logged in
  can never make the server buffer more than a few KB of its input.
- A session is counted when its TCP connection is accepted, on every port. On an
  implicit-TLS port the TLS layer takes over after that (`TLSLayer`); both it
  and a STARTTLS handshake must finish within `MAILDOG_SMTP_TLS_HANDSHAKE_TIMEOUT`.
  A failed handshake ends the session with one log line, `outcome=tls_failed`.
- Until AUTH succeeds a session may idle `MAILDOG_SMTP_UNAUTH_TIMEOUT` seconds
  between commands, afterwards `MAILDOG_SMTP_TIMEOUT`.
- AUTH and MAIL before STARTTLS get `530 5.7.0 Must issue a STARTTLS command first`.
"""

import asyncio
import collections
import logging
import re
import time
from asyncio import sslproto
from typing import cast

import uvloop
import uvloop.loop
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword, syntax
from django.conf import settings

from maildog_site.logs import log_event
from metrics import instruments as metrics

from .data import read_message
from .tls import describe_handshake_failure

log = logging.getLogger("maildog.smtp")

STARTTLS_FIRST = "530 5.7.0 Must issue a STARTTLS command first"
# A client that stops reading must not keep a closing connection (and its buffers) forever.
CLOSE_TIMEOUT = 2.0
# Replies are short: a client that does not read them is not given much room either.
WRITE_BUFFER_HIGH = 16 * 1024


class TLSLayer(sslproto.SSLProtocol):
    """asyncio's TLS protocol with a smaller read buffer.

    It zero-fills a 256 KB buffer for every connection; TLS records are at most
    16 KB, and a connection waiting for its handshake should cost little.
    """

    max_size = 32 * 1024


def tls_layer(loop) -> type:
    """The TLS protocol class for `loop`: uvloop's own under uvloop (runsmtp).

    uvloop's allocates its read buffer without touching it, so a connection
    waiting for its handshake stays well under 64 KB (asyncio's: about 86 KB).
    """
    return uvloop.loop.SSLProtocol if isinstance(loop, uvloop.Loop) else TLSLayer  # type: ignore[attr-defined]


# A plain <local@domain> (dot-atoms only, as nearly every client sends): read without the email
# package's full address parser, which cost more per message than storing it. Anything else
# (quoted local parts, comments, address literals, no brackets) takes aiosmtpd's parser.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
SIMPLE_ADDRESS = re.compile(rf"<({_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>")


_SESSION_NAMES: dict[type, list[str]] = {}


def _session_names(cls: type) -> list[str]:
    names = _SESSION_NAMES.get(cls)
    if names is None:
        names = _SESSION_NAMES[cls] = [name for name in dir(cls) if name.startswith(("smtp_", "auth_"))]
    return names


class CredentialsToCheck:
    """Decoded AUTH credentials on their way to the (async) credential check."""

    def __init__(self, login_password: LoginPassword):
        self.login_password = login_password


class MaildogSMTP(SMTP):
    """One SMTP session (aiosmtpd's protocol) as Maildog runs it; see the module docstring."""

    def __dir__(self):
        """The session's SMTP commands and AUTH mechanisms, the names aiosmtpd looks for.

        aiosmtpd builds each new session's command and AUTH tables from `dir()` and
        `inspect.getmembers()` of the session, which read every attribute of it:
        0.3-0.6 ms on every connection, a tenth of the listener's time when each
        message comes on a new one. Those names belong to the class, so they are
        listed once per class.
        """
        return _session_names(type(self))

    def __init__(self, handler, *, implicit_tls_context=None, **kwargs):
        limit = settings.MAILDOG_SMTP_MAX_COMMAND_BYTES
        # aiosmtpd sizes its stream reader with `line_length_limit`, which then holds
        # for every line, commands included: keep it at the command limit.
        self.line_length_limit = limit
        # aiosmtpd keeps per-command limits in a dict shared by all sessions
        # (and clears it for each): give every session its own.
        self.command_size_limits = collections.defaultdict(lambda: limit)
        super().__init__(handler, timeout=settings.MAILDOG_SMTP_UNAUTH_TIMEOUT, **kwargs)
        self.command_size_limit = limit
        self.implicit_tls_context = implicit_tls_context
        if implicit_tls_context is not None:
            # TLS from the first byte meets AUTH's TLS requirement.
            self._auth_require_tls = False
        self.raw_transport: asyncio.Transport | None = None  # the TCP connection, under any TLS layer
        self.client = ""
        self.started = time.monotonic()
        self.inbox_id = None
        self.stored: list[int] = []
        self.refusals: list[str] = []  # 4xx/5xx reply codes, for the session log
        self.refused_at_accept = False
        self.tls_failed = False
        self.reason = ""  # why the session ended early, for the session log
        self.checking_credentials = False
        self.handshaking = False
        self._smtp_started = False  # aiosmtpd's session loop runs
        self.lost = False  # the connection is gone and the session logged
        self.faults = None  # what fault rules decided in this session (faults.smtp)
        self.refusal_reason = ""  # why the next 4xx/5xx reply is sent, when not the listener's own (metrics)
        self.close_after_reply = ""  # the next reply ends the session (a 421 from a fault rule); the reason
        self._held_lines: list[str] | None = None  # reply lines kept to be sent in one write (smtp_EHLO)

    # --- connection ----------------------------------------------------------
    def connection_made(self, transport):
        """The TCP connection: count it, then TLS (implicit) or the banner; or, later, the TLS connection."""
        if self.raw_transport is not None:
            # The handshake of an implicit-TLS connection finished.
            self._start_smtp(transport)
            return
        self.raw_transport = transport
        transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH)
        peer = transport.get_extra_info("peername")
        self.client = peer[0] if peer else ""
        if not self.event_handler.session_opened(self):
            return
        if self.implicit_tls_context is None:
            self._start_smtp(transport)
            return
        # The TLS layer takes the connection over now, before the loop reads
        # anything from it (uvloop starts reading right after this method);
        # it calls connection_made again once the handshake is done.
        self.handshaking = True
        handshake = self.loop.create_future()
        layer = tls_layer(self.loop)(
            self.loop,
            self,
            self.implicit_tls_context,
            handshake,
            server_side=True,
            ssl_handshake_timeout=settings.MAILDOG_SMTP_TLS_HANDSHAKE_TIMEOUT,
        )
        transport.set_protocol(layer)
        layer.connection_made(transport)
        handshake.add_done_callback(self._handshake_done)

    def _handshake_done(self, handshake: asyncio.Future):
        self.handshaking = False
        if self._smtp_started:
            return
        # Failed, timed out, or the client left (then there is no exception).
        error = None if handshake.cancelled() else handshake.exception()
        self._tls_failed(error)

    def _start_smtp(self, transport):
        self._smtp_started = True
        super().connection_made(transport)

    def _tls_failed(self, error):
        self.tls_failed = True
        self.reason = self.reason or describe_handshake_failure(error)
        if self.raw_transport is not None:
            self.raw_transport.abort()
        self.connection_lost(None)

    def eof_received(self):
        if self._smtp_started:
            super().eof_received()
        # The client closed its side: close ours, so the session ends now
        # (aiosmtpd leaves a plain-TCP transport half-open otherwise).
        return False

    def connection_lost(self, error):
        # Called by the transport, or by this class when a handshake fails; once.
        if self.lost:
            return
        self.lost = True
        self.event_handler.session_closed(self)
        metrics.smtp_session_closed(self.outcome)
        if self._smtp_started:
            super().connection_lost(error)

    def close_now(self, reply: str | None = None, reason: str = "") -> None:
        """End the session at once: say `reply` if the connection can still carry it, then close."""
        self.reason = self.reason or reason
        # Before aiosmtpd starts, a plain connection can still carry a reply; a TLS one cannot.
        # Typed as what it is at run time (asyncio's, uvloop's or a TLS layer's transport: all write).
        transport = cast(asyncio.Transport | None, self.transport if self._smtp_started else None)
        if transport is None and self.implicit_tls_context is None:
            transport = self.raw_transport
        if reply and transport is not None and not transport.is_closing() and not self.handshaking:
            self.refusals.append(reply[:3])
            metrics.smtp_refusal(self, reply)
            transport.write(reply.encode("ascii") + b"\r\n")
        # Close the TCP connection itself: a TLS layer's close would wait for the
        # client's close_notify, which an idle or departed client never sends.
        raw = self.raw_transport
        if raw is not None and not raw.is_closing():
            raw.close()
            self.loop.call_later(CLOSE_TIMEOUT, raw.abort)

    def _timeout_cb(self):
        # aiosmtpd's idle timer (reset by each valid command).
        self.close_now("421 4.4.2 Idle too long, closing connection", reason="idle timeout")

    @property
    def authenticated(self) -> bool:
        return bool(self.session is not None and self.session.authenticated)

    @property
    def evictable(self) -> bool:
        """Not logged in and not waiting for a credential check: may make room for a new session."""
        return not self.authenticated and not self.checking_credentials and not self.lost

    @property
    def finished(self) -> bool:
        """The session is over (QUIT answered, or closing), only the connection lingers."""
        return self.lost or self.transport is None or self.transport.is_closing()

    @property
    def outcome(self) -> str:
        """stored, partial (some stored, some refused), refused, tls_failed, or no_message."""
        if self.stored:
            return "partial" if self.refusals else "stored"
        if self.tls_failed:
            return "tls_failed"
        return "refused" if self.refusals or self.refused_at_accept else "no_message"

    def tls_facts(self) -> tuple[str, str]:
        ssl_object = self.transport.get_extra_info("ssl_object") if self.transport else None
        if ssl_object is None:
            return "", ""
        return ssl_object.version() or "", (ssl_object.cipher() or ("",))[0]

    async def push(self, status):
        if self._held_lines is not None:
            self._held_lines.append(status)
            return
        if status[:1] in ("4", "5", b"4", b"5"):
            self.refusals.append(str(status[:3], "ascii") if isinstance(status, bytes) else status[:3])
            metrics.smtp_refusal(self, status)
        await super().push(status)
        if self.close_after_reply:
            self.close_now(None, reason=self.close_after_reply)

    async def handle_exception(self, error):
        # aiosmtpd's default logs the traceback to its own logger and tells the
        # client the exception's text; log it here and answer without details.
        log_event(log, "smtp_session_error", logging.ERROR, exc_info=error, client=self.client)
        return "451 4.3.0 Internal error, please try again later"

    def _getaddr(self, arg):
        simple = SIMPLE_ADDRESS.match(arg)
        if simple is None:
            return super()._getaddr(arg)
        address = simple.group(1)
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, arg[simple.end() :].lstrip(" \t")

    # --- TLS -----------------------------------------------------------------
    def _needs_starttls(self) -> bool:
        return self.tls_context is not None and self._auth_require_tls and not self._tls_protocol

    @syntax("STARTTLS", when="tls_context")
    async def smtp_STARTTLS(self, arg):
        # aiosmtpd's STARTTLS has no handshake timeout of its own (asyncio's 60 s
        # default) and takes a client that leaves mid-handshake for a success;
        # this one uses the loop's start_tls with our timeout.
        if arg:
            await self.push("501 Syntax: STARTTLS")
            return
        if self._tls_protocol is not None:
            await self.push("503 5.5.1 TLS already active")
            return
        await self.push("220 2.0.0 Ready to start TLS")
        plain = self.transport
        self.handshaking = True
        assert self.tls_context is not None, "STARTTLS is only offered with a TLS context"
        # RFC 3207 4.2: forget what the client sent after STARTTLS without waiting for
        # the handshake (a command injected in clear text). Cleared right before the
        # switch, which pauses reading at once (push has drained, so nothing yields in
        # between); what arrives after the handshake is the client's first command over
        # TLS and must stay: clearing then would drop an EHLO sent right away.
        self._reader._buffer.clear()  # type: ignore[attr-defined]  # asyncio internals, as aiosmtpd's STARTTLS
        try:
            await self._writer.start_tls(
                self.tls_context, ssl_handshake_timeout=settings.MAILDOG_SMTP_TLS_HANDSHAKE_TIMEOUT
            )
        except OSError as error:
            self._tls_failed(error)
            return
        finally:
            self.handshaking = False
        tls = self._writer.transport
        if tls is None or tls is plain or tls.is_closing():
            self._tls_failed(None)
            return
        self._reader._transport = tls  # type: ignore[attr-defined]
        self._original_transport = plain  # aiosmtpd closes it when the session ends
        self._tls_protocol = tls  # type: ignore[assignment]  # aiosmtpd reads it as "TLS is on" (EHLO, AUTH)
        self.transport = tls
        self._set_rset_state()
        self.session = self._create_session()
        assert plain is not None, "STARTTLS arrives on an open connection"
        self.session.peer = plain.get_extra_info("peername")
        self.session.ssl = {name: tls.get_extra_info(name) for name in ("ssl_object", "cipher", "peercert")}
        self._reset_timeout()

    # --- AUTH ------------------------------------------------------------------
    @syntax("AUTH <mechanism>")
    async def smtp_AUTH(self, arg):
        if self._needs_starttls():
            await self.push(STARTTLS_FIRST)
            return
        await super().smtp_AUTH(arg)

    # aiosmtpd decodes AUTH PLAIN/LOGIN and then calls the synchronous
    # `_authenticate`, where the ORM cannot run. Hand the credentials back
    # instead and check them with an await.
    def _authenticate(self, mechanism, auth_data):
        return AuthResult(success=False, handled=True, auth_data=CredentialsToCheck(auth_data))

    async def _check(self, result: AuthResult) -> AuthResult:
        if not isinstance(result.auth_data, CredentialsToCheck):
            return result
        result = await self.event_handler.check_credentials(self, result.auth_data.login_password)
        if result.success:
            # Logged in: the longer idle timeout applies from now on.
            self._timeout_duration = settings.MAILDOG_SMTP_TIMEOUT
            self._reset_timeout()
        return result

    async def auth_PLAIN(self, arg, args):
        return await self._check(await super().auth_PLAIN(arg, args))

    async def auth_LOGIN(self, arg, args):
        return await self._check(await super().auth_LOGIN(arg, args))

    async def challenge_auth(self, challenge, encode_to_b64=True, log_client_response=False):
        try:
            return await super().challenge_auth(challenge, encode_to_b64, log_client_response)
        except ValueError:
            # StreamReader.readline: the answer is longer than a command line may be.
            await self.push("500 5.5.6 Authentication exchange line too long")
            return MISSING

    # --- greeting ----------------------------------------------------------------
    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname):
        # aiosmtpd pushes each line of the reply on its own: over TLS a record and a
        # send for each of six or seven lines, on every new connection. They go in one.
        self._held_lines = []
        try:
            await super().smtp_EHLO(hostname)
        finally:
            lines, self._held_lines = self._held_lines, None
        if lines:
            await self.push("\r\n".join(lines))  # aiosmtpd's EHLO lines are all str

    # --- mail transaction --------------------------------------------------------
    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg):
        if self._needs_starttls():
            await self.push(STARTTLS_FIRST)
            return
        await super().smtp_MAIL(arg)

    @syntax("DATA")
    async def smtp_DATA(self, arg):
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None and self.data_size_limit is not None, "set up by aiosmtpd and the service"
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        content = await read_message(self._reader, self.data_size_limit)
        if content is None:
            self._set_post_data_state()
            await self.push(f"552 5.3.4 Message too big (at most {self.data_size_limit} bytes)")
            return
        # decode_data is off: the handler gets the bytes as received, one object, no copy.
        self.envelope.original_content = self.envelope.content = content
        del content
        status = await self.event_handler.handle_DATA(self, self.session, self.envelope)
        self._set_post_data_state()
        if status is None:  # the connection was closed instead of answering (a fault rule)
            return
        await self.push(status)
