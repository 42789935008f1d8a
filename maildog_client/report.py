"""The report on a message (findings, HTML compatibility, spam score, links) as the API returns it."""


class Finding(dict):
    """One finding: `severity`, `check`, `what`, `why`, `fix`, `part`, `line`, `text` (also as attributes)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self):
        where = self.get("part", "") + (f":{self['line']}" if self.get("line") else "")
        return f"<{self.get('severity')} {self.get('check')} at {where}: {self.get('what')} {self.get('text')!r}>"


class Report:
    """`report.errors`, `.warnings`, `.notes`: the findings of that severity (lists, so `== []` reads well).

    `status` is "complete", "bounded" (a budget cut part of the work: see
    `limits`) or "failed"; `data` is the API's JSON.
    """

    def __init__(self, data: dict):
        self.data = data

    def __repr__(self):
        counts = self.data.get("counts", {})
        return (
            f"<Report on message {self.data.get('message_id')} {self.status}: {counts.get('errors')} errors, "
            f"{counts.get('warnings')} warnings, {counts.get('notes')} notes>"
        )

    status = property(lambda self: self.data["status"])
    limits = property(lambda self: self.data.get("limits", []))
    compatibility = property(lambda self: self.data.get("compatibility"))
    spam = property(lambda self: self.data.get("spam"))
    links = property(lambda self: self.data.get("links"))

    @property
    def findings(self) -> list[Finding]:
        return [Finding(item) for item in self.data.get("findings", [])]

    def _of(self, severity: str) -> list[Finding]:
        return [finding for finding in self.findings if finding["severity"] == severity]

    @property
    def errors(self) -> list[Finding]:
        return self._of("error")

    @property
    def warnings(self) -> list[Finding]:
        return self._of("warning")

    @property
    def notes(self) -> list[Finding]:
        return self._of("note")

    def find(self, check: str) -> list[Finding]:
        """The findings of one rule, e.g. `report.find("link-testserver")`."""
        return [finding for finding in self.findings if finding["check"] == check]
