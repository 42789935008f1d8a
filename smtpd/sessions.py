"""The open SMTP sessions of one process: counted at accept, limited in total and per client."""

import asyncio
from collections import Counter
from typing import Protocol


class Session(Protocol):
    client: str

    @property
    def evictable(self) -> bool: ...

    def close_now(self, reply: str | None, reason: str) -> None: ...


EVICTION_REPLY = "421 4.4.2 Idle and not logged in: closed to make room for other clients"


class SessionTable:
    """Sessions counted against `MAILDOG_MAX_SESSIONS` and `MAILDOG_MAX_SESSIONS_PER_CLIENT`.

    A session is admitted when its TCP connection is accepted, before any TLS
    handshake. When the table is full, the oldest evictable session (idle and
    not logged in) is closed to make room, so idle connections cannot keep
    everyone out; a client at its own limit is refused.
    """

    def __init__(self):
        self._open: dict[Session, None] = {}  # in order of arrival
        self._per_client: Counter[str] = Counter()
        self.idle = asyncio.Event()  # set while no session is open
        self.idle.set()

    def __len__(self) -> int:
        return len(self._open)

    def __iter__(self):
        return iter(list(self._open))

    def admit(self, session: Session, max_total: int, max_per_client: int) -> str:
        """Count `session` in and return "", or return why it is refused."""
        if self._per_client[session.client] >= max_per_client:
            return "too many sessions from this client"
        if len(self._open) >= max_total:
            oldest = next((other for other in self._open if other.evictable), None)
            if oldest is None:
                return "too many sessions"
            self.discharge(oldest)
            oldest.close_now(EVICTION_REPLY, reason="closed to make room (idle, not logged in)")
        self._open[session] = None
        self._per_client[session.client] += 1
        self.idle.clear()
        return ""

    def discharge(self, session: Session) -> None:
        """Stop counting `session` (once it closes, or is being closed for another)."""
        if session not in self._open:
            return
        del self._open[session]
        self._per_client[session.client] -= 1
        if not self._per_client[session.client]:
            del self._per_client[session.client]
        if not self._open:
            self.idle.set()
