"""Slowing down and then refusing clients that keep failing AUTH."""

import asyncio
import time
from collections import deque


class _Client:
    __slots__ = ("failures", "checking", "changed")

    def __init__(self):
        self.failures: deque[float] = deque()  # times of failed attempts, oldest first
        self.checking = 0  # attempts whose credentials are being checked now
        self.changed = asyncio.Event()  # set when an attempt in progress ends


class AuthThrottle:
    """Per-client failed-AUTH counts within a sliding window (per process).

    A client with `max_failures` failures in the window is refused until the
    oldest leaves the window. A successful login does not clear the count.
    Each attempt holds a slot from before its credentials are checked until
    the answer: while failures plus attempts in progress would reach the
    limit, further attempts wait for one in progress to end, so parallel
    attempts never get more than `max_failures` wrong passwords checked.
    Each failure is answered after a delay that grows with the count.
    """

    def __init__(self, max_failures: int, window_seconds: float, clock=time.monotonic):
        self.max_failures = max_failures
        self.window = window_seconds
        self.clock = clock
        self._clients: dict[str, _Client] = {}
        self._last_sweep = clock()

    def _client(self, client: str) -> _Client:
        state = self._clients.get(client)
        if state is None:
            state = self._clients[client] = _Client()
        cutoff = self.clock() - self.window
        while state.failures and state.failures[0] < cutoff:
            state.failures.popleft()
        return state

    def _forget_if_clean(self, client: str, state: _Client) -> None:
        if not state.failures and not state.checking:
            self._clients.pop(client, None)

    def _sweep(self) -> None:
        """Drop clients whose failures all left the window (once per window), so the table stays small."""
        now = self.clock()
        if now - self._last_sweep < self.window:
            return
        self._last_sweep = now
        for client in list(self._clients):
            self._forget_if_clean(client, self._client(client))

    def failures(self, client: str) -> int:
        """Failed attempts of `client` within the window."""
        return len(self._client(client).failures) if client in self._clients else 0

    async def begin(self, client: str) -> bool:
        """Take a slot for one attempt; False when the client has reached the limit."""
        self._sweep()
        while True:
            state = self._client(client)
            if len(state.failures) >= self.max_failures:
                self._forget_if_clean(client, state)
                return False
            if len(state.failures) + state.checking < self.max_failures:
                state.checking += 1
                return True
            state.changed.clear()
            await state.changed.wait()

    def end(self, client: str, *, failed: bool) -> float:
        """Give the slot back, counting a failure if `failed`; return how long to wait before answering."""
        state = self._client(client)
        state.checking -= 1
        state.changed.set()
        if not failed:
            self._forget_if_clean(client, state)
            return 0.0
        state.failures.append(self.clock())
        return min(0.25 * 2 ** (len(state.failures) - 1), 4.0)
