"""Taking a captured message apart: headers, bodies, MIME tree, attachments, links.

The one place that reads a message's structure, for the JSON API and the web
pages alike, so a part, an attachment and a link mean the same in both: parts
are addressed by their `path` in the MIME tree ("1.2"), attachments by their
`index` in `MessageParts.attachments`. Captured mail can be broken in every way
MIME allows and a few it does not: nothing here raises on bad input. Each
problem becomes a readable note in `errors` and the rest of the message is
still read.
"""

import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from html.parser import HTMLParser

from .mime import clean_text
from .mime import parse as parse_message

# Plain-text URLs: scheme up to the first whitespace or character that cannot
# end a URL in running text.
TEXT_URL = re.compile(r"""\bhttps?://[^\s<>"'`]+""", re.IGNORECASE)
TRAILING_PUNCTUATION = ".,;:!?'\""
# Link schemes Maildog's own pages may turn into real links; others (javascript:,
# data:, ...) are only shown as text.
SAFE_LINK_SCHEMES = ("http://", "https://", "mailto:")


def _bare_cid(content_id: str) -> str:
    """A Content-ID as `cid:` URLs write it: without the angle brackets."""
    return content_id.strip().strip("<>").strip()


@dataclass
class Header:
    name: str
    value: str


@dataclass
class Part:
    """One node of the MIME tree; `path` is its position ("1.2" is the second child of the first)."""

    path: str
    content_type: str
    charset: str = ""
    encoding: str = ""
    disposition: str = ""
    filename: str = ""
    content_id: str = ""
    size: int = 0
    children: list["Part"] = field(default_factory=list)

    @property
    def cid(self) -> str:
        return _bare_cid(self.content_id)

    @property
    def is_container(self) -> bool:
        """A multipart: it has parts but no content of its own (an attached message is content)."""
        return self.content_type.startswith("multipart/")


@dataclass
class Attachment:
    """A leaf part that is not one of the message's bodies: a file or an inline image."""

    index: int
    path: str
    filename: str
    content_type: str
    size: int
    content_id: str = ""
    disposition: str = ""

    @property
    def cid(self) -> str:
        return _bare_cid(self.content_id)

    @property
    def inline(self) -> bool:
        """Shown inside the HTML body (it has a Content-ID and is not marked as an attachment), not a file."""
        return bool(self.cid) and self.disposition != "attachment"


@dataclass
class Link:
    """A link as the reader sees it: its target and the text it is shown with."""

    href: str
    text: str
    source: str  # "html" or "text"

    @property
    def clickable(self) -> bool:
        """Only web and mail links may become real links in Maildog's own pages."""
        return self.href.lower().startswith(SAFE_LINK_SCHEMES)


@dataclass
class MessageParts:
    """What `parse` read. `text`/`html` are "" when the body is missing; `has_text`/`has_html` tell which."""

    headers: list[Header] = field(default_factory=list)
    text: str = ""
    html: str = ""
    has_text: bool = False
    has_html: bool = False
    root: Part | None = None
    attachments: list[Attachment] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # The parsed message, kept to hand out part contents without parsing again.
    message: EmailMessage | None = field(default=None, repr=False, compare=False)

    def part(self, path: str) -> Part | None:
        """The tree node at `path` ("" is the whole message), or None."""
        node = self.root
        for number in _path_numbers(path):
            if node is None or number is None or not 1 <= number <= len(node.children):
                return None
            node = node.children[number - 1]
        return node

    def content(self, path: str) -> bytes | None:
        """The decoded content of the part at `path`; None for a container or a path that does not exist."""
        node = self.part(path)
        if node is None or node.is_container or self.message is None:
            return None
        email_part = self.message
        for number in _path_numbers(path):
            email_part = _children(email_part, path, self.errors)[number - 1]
        return _safe(self.errors, f"Content of part {path or 'body'}", lambda: part_bytes(email_part), b"")

    def attachment(self, index: int) -> tuple[Attachment, bytes] | None:
        """The `index`-th attachment and its decoded content, or None."""
        if not 0 <= index < len(self.attachments):
            return None
        found = self.attachments[index]
        return found, self.content(found.path) or b""


def _path_numbers(path: str) -> list[int | None]:
    """ "1.2" as [1, 2]; "" (the whole message) as []; a malformed step as None."""
    if not path:
        return []
    return [int(step) if step.isdigit() else None for step in path.split(".")]


def _safe(errors, what, function, default):
    """Run one reading step; on failure record why and return `default`."""
    try:
        return function()
    # The email package raises many unrelated types on damaged input; each is
    # recorded for the reader, none is swallowed silently.
    except Exception as exc:  # noqa: BLE001
        errors.append(f"{what}: {type(exc).__name__}: {exc}")
        return default


def _headers(message, errors) -> list[Header]:
    headers = []
    for name, raw_value in message.raw_items():
        value = _safe(
            errors,
            f"{name} header could not be decoded",
            lambda: str(message.policy.header_fetch_parse(name, raw_value)),
            raw_value,
        )
        headers.append(Header(clean_text(name), clean_text(value)))
    return headers


def part_bytes(part) -> bytes:
    """The part's content after transfer decoding (base64, quoted-printable).

    An attached message (message/rfc822) is given as the message's own bytes.
    A transfer encoding that cannot be undone gives the content as it is.
    """
    if part.get_content_type() == "message/rfc822" and part.is_multipart():
        inner = part.get_payload()
        return inner[0].as_bytes() if inner else b""
    if part.is_multipart():
        return b""
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, LookupError, TypeError, AssertionError):  # damaged transfer encoding
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        payload = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    return payload


def part_text(part) -> str:
    """A text part as str with "\n" line ends, decoded with its charset.

    Unknown or wrong charsets fall back to UTF-8 with replacement characters.
    (Line ends as sent are in the raw source.)
    """
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError, UnicodeError, KeyError):
        content = part_bytes(part).decode("utf-8", "replace")
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return clean_text(content).replace("\r\n", "\n")


def _param(part, errors, getter, what):
    value = _safe(errors, what, getter, None)
    return clean_text(value) if value else ""


def _children(part, path, errors) -> list:
    """A container's parts; an attached message (message/rfc822) has the message as its one child."""
    payload = _safe(errors, f"Parts of {path or 'the message'}", part.get_payload, [])
    return [child for child in payload if hasattr(child, "get_content_type")] if isinstance(payload, list) else []


def _tree(part, path, errors) -> Part:
    node = Part(
        path=path,
        content_type=_safe(errors, f"Content type of part {path}", part.get_content_type, "text/plain"),
        charset=_param(part, errors, part.get_content_charset, f"Charset of part {path}"),
        encoding=_param(part, errors, lambda: part.get("Content-Transfer-Encoding"), f"Encoding of part {path}"),
        disposition=_param(part, errors, part.get_content_disposition, f"Disposition of part {path}"),
        filename=_param(part, errors, part.get_filename, f"File name of part {path}"),
        content_id=_param(part, errors, lambda: part.get("Content-ID"), f"Content-ID of part {path}"),
    )
    node.encoding = node.encoding.strip().lower()
    if part.is_multipart():
        prefix = f"{path}." if path else ""
        children = _children(part, path, errors)
        node.children = [_tree(child, f"{prefix}{number}", errors) for number, child in enumerate(children, 1)]
        node.size = sum(child.size for child in node.children)
    else:
        node.size = len(_safe(errors, f"Content of part {path or 'body'}", lambda: part_bytes(part), b""))
    return node


def _leaves(message, errors):
    """(path, part) for every leaf part, depth first, with the paths `_tree` gives."""

    def walk(part, path):
        # An attached message is one thing to download, not more bodies.
        if part.is_multipart() and part.get_content_type() != "message/rfc822":
            children = _children(part, path, errors)
            prefix = f"{path}." if path else ""
            for number, child in enumerate(children, 1):
                yield from walk(child, f"{prefix}{number}")
        else:
            yield path, part

    yield from walk(message, "")


def _body(message, kind, errors):
    part = _safe(errors, f"The {kind} body could not be found", lambda: message.get_body(preferencelist=(kind,)), None)
    return part


def _attachments(message, bodies, errors) -> list[tuple[Attachment, object]]:
    found = []
    for path, part in _leaves(message, errors):
        if any(part is body for body in bodies):
            continue
        content_type = _safe(errors, f"Content type of part {path}", part.get_content_type, "application/octet-stream")
        filename = _param(part, errors, part.get_filename, f"File name of part {path}")
        disposition = _param(part, errors, part.get_content_disposition, f"Disposition of part {path}")
        # A text part without a name or an attachment disposition is more body
        # (an extra alternative); everything else is something to download.
        if content_type.startswith("text/") and not filename and disposition != "attachment":
            continue
        size = len(_safe(errors, f"Content of part {path}", lambda: part_bytes(part), b""))
        attachment = Attachment(
            index=len(found),
            path=path,
            filename=filename,
            content_type=content_type,
            size=size,
            content_id=_param(part, errors, lambda: part.get("Content-ID"), f"Content-ID of part {path}"),
            disposition=disposition,
        )
        found.append((attachment, part))
    return found


class _LinkCollector(HTMLParser):
    """Collects <a href> targets with the text inside the anchor."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[Link] = []
        self._open: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href is not None and href.strip():
                self._open.append((href.strip(), []))
        elif tag == "img" and self._open:
            # An image link reads as its alt text.
            alt = dict(attrs).get("alt")
            if alt:
                self._open[-1][1].append(alt)

    def handle_data(self, data):
        if self._open:
            self._open[-1][1].append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._open:
            self._close()

    def _close(self):
        href, text = self._open.pop()
        self.links.append(Link(href=href, text=" ".join("".join(text).split()), source="html"))

    def close(self):
        super().close()
        while self._open:  # unclosed anchors still count
            self._close()


def html_links(html: str) -> list[Link]:
    collector = _LinkCollector()
    collector.feed(html)
    collector.close()
    return collector.links


def _trim_url(url: str) -> str:
    url = url.rstrip(TRAILING_PUNCTUATION)
    # "(see https://example.com/a)" : drop a closing bracket the URL did not open.
    for opening, closing in ("()", "[]", "{}"):
        while url.endswith(closing) and url.count(closing) > url.count(opening):
            url = url[:-1].rstrip(TRAILING_PUNCTUATION)
    return url


def text_links(text: str) -> list[Link]:
    return [Link(href=url, text="", source="text") for url in (_trim_url(m.group(0)) for m in TEXT_URL.finditer(text))]


def _unique(links: list[Link]) -> list[Link]:
    seen = set()
    unique = []
    for link in links:
        key = (link.href, link.text, link.source)
        if key not in seen:
            seen.add(key)
            unique.append(link)
    return unique


def flatten(part: Part | None, depth: int = 0):
    """The MIME tree as (depth, part) pairs, depth first (the order a tree view lists them)."""
    if part is None:
        return
    yield depth, part
    for child in part.children:
        yield from flatten(child, depth + 1)


def parse(raw: bytes) -> MessageParts:
    """Everything a reader or a test wants to see in `raw`, best effort."""
    result = MessageParts()
    message = _safe(result.errors, "Message could not be parsed", lambda: parse_message(bytes(raw)), None)
    if message is None:
        return result
    result.message = message
    result.errors.extend(f"{type(defect).__name__}: {defect}" for defect in message.defects)
    result.headers = _headers(message, result.errors)
    result.root = _tree(message, "", result.errors)

    text_part = _body(message, "plain", result.errors)
    html_part = _body(message, "html", result.errors)
    if text_part is not None:
        result.text, result.has_text = part_text(text_part), True
    if html_part is not None:
        result.html, result.has_html = part_text(html_part), True
    bodies = [part for part in (text_part, html_part) if part is not None]
    result.attachments = [attachment for attachment, _ in _attachments(message, bodies, result.errors)]

    links = _safe(result.errors, "Links in the HTML body could not be read", lambda: html_links(result.html), [])
    result.links = _unique(links + text_links(result.text))
    # Decoding (above) adds defects to the parts, such as bad base64.
    for part in message.walk():
        if part is not message:
            result.errors.extend(f"{type(defect).__name__}: {defect}" for defect in part.defects)
    return result


def attachment(raw: bytes, index: int) -> tuple[Attachment, bytes] | None:
    """The `index`-th attachment (as listed by `parse`) and its decoded content, or None."""
    return parse(raw).attachment(index)
