"""The reading budgets (from settings) and the clock that enforces the time budget.

A `Budgets` is read from settings once per reading, so tests and operators can
change the settings at run time. A `Notes` collects what a reading had to cut
(`cuts`) and what was wrong with the message (`errors`), both as sentences for
people, without duplicates.
"""

import time
from dataclasses import dataclass, field

from django.conf import settings


@dataclass(frozen=True)
class Budgets:
    """How much of one message is read; past any of these the rest is cut (and said so)."""

    max_depth: int
    max_parts: int
    max_header_bytes: int
    max_encoded_words: int
    max_decoded_bytes: int
    time_limit: float

    @classmethod
    def from_settings(cls) -> "Budgets":
        return cls(
            max_depth=settings.MAILDOG_PARSE_MAX_DEPTH,
            max_parts=settings.MAILDOG_PARSE_MAX_PARTS,
            max_header_bytes=settings.MAILDOG_PARSE_MAX_HEADER_BYTES,
            max_encoded_words=settings.MAILDOG_PARSE_MAX_ENCODED_WORDS,
            max_decoded_bytes=settings.MAILDOG_PARSE_MAX_DECODED_BYTES,
            time_limit=settings.MAILDOG_PARSE_TIME_LIMIT,
        )


@dataclass
class Notes:
    """What one reading cut and what it found wrong, in order, each sentence once."""

    budgets: Budgets
    cuts: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    decoded_bytes: int = 0
    _timed_out: bool = False

    def cut(self, sentence: str) -> None:
        if sentence not in self.cuts:
            self.cuts.append(sentence)

    def error(self, sentence: str) -> None:
        if sentence not in self.errors:
            self.errors.append(sentence)

    @property
    def timed_out(self) -> bool:
        return self._timed_out

    def out_of_time(self, what: str) -> bool:
        """True once the reading has used its time budget; the first call records what was left out."""
        if self._timed_out:
            return True
        if time.monotonic() - self.started <= self.budgets.time_limit:
            return False
        self._timed_out = True
        self.cut(f"Reading stopped after {self.budgets.time_limit:g} s (MAILDOG_PARSE_TIME_LIMIT): {what}.")
        return True

    def spend_decoded(self, size: int, what: str) -> bool:
        """Charge `size` decoded bytes; False (and a cut note) if that would pass the budget."""
        if self.decoded_bytes + size > self.budgets.max_decoded_bytes:
            self.cut(
                f"More than {self.budgets.max_decoded_bytes:,} bytes to decode (MAILDOG_PARSE_MAX_DECODED_BYTES): "
                f"{what} is not decoded; the raw source has it."
            )
            return False
        self.decoded_bytes += size
        return True
