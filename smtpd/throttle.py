"""Slowing down and then refusing clients that keep failing AUTH."""

import time
from collections import defaultdict, deque


class AuthThrottle:
    """Per-client failure counts within a sliding window (per process).

    Each failure is answered after a delay that grows with the count, and a
    client at `max_failures` is refused until its oldest failure leaves the window.
    """

    def __init__(self, max_failures: int, window_seconds: float, clock=time.monotonic):
        self.max_failures = max_failures
        self.window = window_seconds
        self.clock = clock
        self._failures: dict[str, deque] = defaultdict(deque)

    def _recent(self, client: str) -> deque:
        failures = self._failures[client]
        cutoff = self.clock() - self.window
        while failures and failures[0] < cutoff:
            failures.popleft()
        if not failures:
            del self._failures[client]
        return failures

    def is_blocked(self, client: str) -> bool:
        return len(self._recent(client)) >= self.max_failures

    def record_failure(self, client: str) -> float:
        """Count a failure; return how long to wait before answering it."""
        failures = self._failures[client]
        failures.append(self.clock())
        return min(0.25 * 2 ** (len(failures) - 1), 4.0)

    def record_success(self, client: str) -> None:
        self._failures.pop(client, None)
