"""A finding: what is wrong, where, why it matters and how to fix it; and the list that counts them."""

from dataclasses import asdict, dataclass, field

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


def excerpt(text: str, limit: int = TEXT_SHOWN) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Findings:
    """Findings in the order found, at most `limit` (the rest are counted and said to be left out)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.items: list[Finding] = []
        self.left_out = 0
        self._seen: set[tuple] = set()

    def add(self, severity: str, check: str, what: str, why: str, fix: str, **where) -> None:
        assert severity in SEVERITIES, severity
        if "text" in where:
            where["text"] = excerpt(where["text"])
        key = (check, where.get("part"), where.get("line"), where.get("text"), what)
        if key in self._seen:
            return
        self._seen.add(key)
        if len(self.items) >= self.limit:
            self.left_out += 1
            return
        self.items.append(Finding(severity, check, what, why, fix, **where))

    def counts(self) -> dict:
        return {severity + "s": sum(1 for f in self.items if f.severity == severity) for severity in SEVERITIES}
