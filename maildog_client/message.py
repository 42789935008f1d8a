"""A captured message as the API returns it, with helpers to pick links and codes."""

import re
from html.parser import HTMLParser

DEFAULT_CODE_PATTERN = r"\b\d{4,8}\b"


class _TextOfHtml(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chunks = []

    def handle_data(self, data):
        self.chunks.append(data)


def _html_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    return " ".join("".join(parser.chunks).split())


class Message:
    """One message: `data` is the API's JSON; the common fields are attributes.

    Summaries (from `messages()`) lack the bodies and links; `client.message()`
    or `wait_for_message()` give the whole message.
    """

    def __init__(self, data: dict, client=None):
        self.data = data
        self._client = client

    def __getitem__(self, name):
        return self.data[name]

    def __repr__(self):
        return f"<Message {self.id} {self.subject!r} to {self.data.get('to')!r}>"

    id = property(lambda self: self.data["id"])
    inbox_id = property(lambda self: self.data["inbox_id"])
    seq = property(lambda self: self.data["seq"])
    subject = property(lambda self: self.data["subject"])
    sender = property(lambda self: self.data["from"])
    to = property(lambda self: self.data["to"])
    envelope_to = property(lambda self: self.data["envelope_to"])
    text = property(lambda self: self.data.get("text", ""))
    html = property(lambda self: self.data.get("html", ""))
    links = property(lambda self: self.data.get("links", []))
    attachments = property(lambda self: self.data.get("attachments", []))

    @property
    def headers(self) -> dict:
        """Headers by name (the last one wins for repeated names); `data["headers"]` has them all in order."""
        return {header["name"]: header["value"] for header in self.data.get("headers", [])}

    def link(self, pattern: str | None = None, *, text: str | None = None) -> str:
        """The first link whose URL matches the regular expression `pattern` (and whose text matches `text`).

        Links from the HTML body come first, then URLs found in the text body.
        Raises LookupError, listing the links there are, when none matches.
        """
        for link in self.links:
            if pattern is not None and not re.search(pattern, link["href"]):
                continue
            if text is not None and not re.search(text, link["text"], re.IGNORECASE):
                continue
            return link["href"]
        hrefs = "\n  ".join(f"{link['href']} ({link['text'] or link['source']})" for link in self.links) or "none"
        raise LookupError(f"No link matches pattern={pattern!r} text={text!r} in {self!r}. Links:\n  {hrefs}")

    def code(self, pattern: str = DEFAULT_CODE_PATTERN) -> str:
        """The first match of `pattern` in the subject, text body, then HTML body's text.

        With a group in the pattern its first group is returned, so
        `code(r"code: (\\w+)")` gives just the code. Default: 4 to 8 digits.
        Raises LookupError when nothing matches.
        """
        for source in (self.subject, self.text, _html_text(self.html)):
            found = re.search(pattern, source or "")
            if found:
                return found.group(1) if found.groups() else found.group(0)
        raise LookupError(f"No code matches {pattern!r} in {self!r}.")

    @property
    def report(self):
        """The report on the message (`maildog_client.report.Report`), waiting while it is being made.

        `assert message.report.errors == []` fails with the findings listed.
        """
        if "_report" not in self.__dict__:
            self.__dict__["_report"] = self._client.report(self.inbox_id, self.id)
        return self.__dict__["_report"]

    def raw(self) -> bytes:
        """The raw source, byte for byte as Maildog received it."""
        return self._client.raw(self.inbox_id, self.id)

    def attachment(self, index: int = 0) -> bytes:
        return self._client.attachment(self.inbox_id, self.id, index)

    def delete(self) -> None:
        self._client.delete(self.inbox_id, self.id)
