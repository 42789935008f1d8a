"""A finding: what is wrong, where, why it matters and how to fix it; and the list that counts them."""

from dataclasses import asdict, dataclass, field
from urllib.parse import SplitResult, urlsplit

SEVERITIES = ("error", "warning", "note")


@dataclass
class Finding:
    """One thing the report found.

    `check` names the rule ("template-leftover", "link-localhost", ...);
    `part` is "html", "text", "headers", "message" or a section ("spam",
    "links", "compatibility"); `line` is 1-based in that part (None when it
    has no line); `text` is the offending text or link, shortened.
    """

    severity: str
    check: str
    what: str
    why: str
    fix: str
    part: str = ""
    line: int | None = None
    text: str = ""
    lines: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


TEXT_SHOWN = 200


def split_url(url: str) -> SplitResult | None:
    """`urlsplit(url)`, or None for what it cannot read ("http://[::1/": captured mail is hostile)."""
    try:
        split = urlsplit(url)
        split.port  # noqa: B018 (raises on a port out of range)
    except ValueError:
        return None
    return split


def excerpt(text: str, limit: int = TEXT_SHOWN) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Findings:
    """Findings in the order found: at most `per_check` of one rule and `limit` in all.

    What is left out is counted per rule (`left_out`), so one mistake repeated on
    every line cannot crowd out the others.
    """

    def __init__(self, limit: int, per_check: int = 25):
        self.limit = limit
        self.per_check = per_check
        self.items: list[Finding] = []
        self.left_out: dict[str, int] = {}
        self._kept: dict[str, int] = {}
        self._seen: set[tuple] = set()

    def add(self, severity: str, check: str, what: str, why: str, fix: str, **where) -> None:
        assert severity in SEVERITIES, severity
        if "text" in where:
            where["text"] = excerpt(where["text"])
        key = (check, where.get("part"), where.get("line"), where.get("text"), what)
        if key in self._seen:
            return
        if len(self._seen) < 10 * self.limit:
            self._seen.add(key)
        if len(self.items) >= self.limit or self._kept.get(check, 0) >= self.per_check:
            self.left_out[check] = self.left_out.get(check, 0) + 1
            return
        self._kept[check] = self._kept.get(check, 0) + 1
        self.items.append(Finding(severity, check, what, why, fix, **where))

    def left_out_sentences(self) -> list[str]:
        return [
            f"{count:,} more {check} finding{'s' if count != 1 else ''} left out (at most {self.per_check} of one "
            f"kind, {self.limit} in all: MAILDOG_REPORT_MAX_FINDINGS)."
            for check, count in self.left_out.items()
        ]

    def counts(self) -> dict:
        return {severity + "s": sum(1 for f in self.items if f.severity == severity) for severity in SEVERITIES}
