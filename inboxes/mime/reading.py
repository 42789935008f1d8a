"""One message read for people: headers, bodies, MIME tree, attachments, links, and what was cut.

`ParsedMessage(raw)` finds the tree (offsets only) and which parts are the
bodies and the attachments; everything else is read on first use. `read(raw)`
reads everything at once, so that the notes (`cuts`, `errors`) are complete
before a page or an API answer is built; downloads use `ParsedMessage(raw)`
and decode only the part asked for.

Parts are addressed by `path` ("1.2"; "" is the whole message), attachments by
their `index` in `attachments`: the message page, the API and the stored
`has_attachments` all use the one definition in `_is_attachment`.
"""

import re
from dataclasses import dataclass
from functools import cached_property

from . import content, headers, links, structure, text
from .budgets import Budgets, Notes
from .structure import IDENTITY_ENCODINGS, Node

# Bodies are shown up to this many bytes (Gmail clips at about 100 KB); the whole part is a download.
SHOWN_BODY_BYTES = 1024 * 1024
REMOTE_RE = re.compile(
    r"""(?:src|background|srcset)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//""", re.IGNORECASE
)


def bare_cid(content_id: str) -> str:
    """A Content-ID as `cid:` URLs write it: without the angle brackets."""
    return content_id.strip().strip("<>").strip()


@dataclass
class Header:
    name: str
    value: str


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
        return bare_cid(self.content_id)

    @property
    def inline(self) -> bool:
        """Shown inside the HTML body (it has a Content-ID and is not marked as an attachment), not a file."""
        return bool(self.cid) and self.disposition != "attachment"


def _body(root: Node, subtype: str) -> Node | None:
    """The `text/<subtype>` body, chosen as `email.message.EmailMessage.get_body` chooses it (without recursion)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.disposition == "attachment":
            continue
        maintype, _, sub = node.content_type.partition("/")
        if maintype == "text":
            if sub == subtype:
                return node
            continue
        if maintype != "multipart":
            continue
        if sub != "related":
            stack.extend(reversed(node.children))
            continue
        # multipart/related: only its start part (the first unless `start` names one) can be the body.
        candidate = next(
            (child for child in node.children if node.start_param and child.content_id == node.start_param), None
        )
        if candidate is None and node.children:
            candidate = node.children[0]
        if candidate is not None:
            stack.append(candidate)
    return None


def _leaves(nodes: list[Node]) -> list[Node]:
    """Parts with content of their own, in order; an attached message is one leaf (its insides are not)."""
    found, inside = [], None
    for node in nodes:
        if inside is not None and (inside == "" or node.path.startswith(inside)):
            continue
        inside = None
        if node.is_container:
            continue
        found.append(node)
        if node.is_message:
            inside = f"{node.path}." if node.path else ""
    return found


def _is_attachment(node: Node, bodies: tuple) -> bool:
    """A leaf that is not a body; a text part without a name or an attachment disposition is more body."""
    if any(node is body for body in bodies):
        return False
    return not (node.content_type.startswith("text/") and not node.filename and node.disposition != "attachment")


class ParsedMessage:
    """What one message shows a reader, read from `raw` within the reading budgets (settings)."""

    def __init__(self, raw: bytes, budgets: Budgets | None = None):
        self.raw = raw if isinstance(raw, bytes) else bytes(raw)  # database drivers may hand a memoryview
        self.notes = Notes(budgets or Budgets.from_settings())
        self.root, self.nodes = structure.scan(raw, self.notes)
        self.text_part = _body(self.root, "plain")
        self.html_part = _body(self.root, "html")
        bodies = (self.text_part, self.html_part)
        self.attachment_parts = [node for node in _leaves(self.nodes) if _is_attachment(node, bodies)]

    # --- what was cut, what is wrong -------------------------------------------

    @property
    def cuts(self) -> list[str]:
        """What the budgets left out, as sentences ("MIME nested deeper than 50 levels: ...")."""
        return self.notes.cuts

    @property
    def errors(self) -> list[str]:
        """What is wrong with the message itself (missing boundaries, bad base64, unknown charsets)."""
        return self.notes.errors

    # --- headers ---------------------------------------------------------------

    @cached_property
    def headers(self) -> list[Header]:
        """The message's header fields in order, decoded (RFC 2047 and RFC 6532)."""
        return [
            Header(text.clean_text(field.name), headers.decoded(field.value, field.name, self.notes))
            for field in self.root.fields
        ]

    def header(self, name: str) -> str | None:
        """The first `name` field decoded, or None if the message has none."""
        name = name.lower()
        for field in self.root.fields:
            if field.name.lower() == name:
                return headers.decoded(field.value, field.name, self.notes)
        return None

    def raw_header(self, name: str) -> str | None:
        """The first `name` field as sent (unfolded, not decoded), or None."""
        name = name.lower()
        for field in self.root.fields:
            if field.name.lower() == name:
                return text.clean_text(headers.unfolded(field.value))
        return None

    # --- bodies ----------------------------------------------------------------

    def _read_body(self, node: Node | None, kind: str) -> str | None:
        if node is None:
            return None
        identity = node.encoding in IDENTITY_ENCODINGS
        data = content.decoded(self.raw, node, self.notes, limit=SHOWN_BODY_BYTES if identity else None)
        if data is None:
            return ""
        full = len(content.encoded(self.raw, node)) if identity else len(data)
        if full > SHOWN_BODY_BYTES:
            self.notes.cut(
                f"The {kind} body ({node.label}) is {full:,} bytes: only its first {SHOWN_BODY_BYTES:,} are shown; "
                "download the part for all of it."
            )
            data = data[:SHOWN_BODY_BYTES]
        body, usable = text.decode(data, node.charset or "utf-8")
        if not usable:
            self.notes.error(f"{node.label.capitalize()} names an unknown charset {node.charset!r}: read as UTF-8.")
        return body.replace("\r\n", "\n")

    @cached_property
    def text(self) -> str | None:
        """The plain-text body, None when the message has none."""
        return self._read_body(self.text_part, "text")

    @cached_property
    def html(self) -> str | None:
        """The HTML body, None when the message has none."""
        return self._read_body(self.html_part, "HTML")

    @property
    def has_remote_content(self) -> bool:
        return bool(self.html and REMOTE_RE.search(self.html))

    # --- tree and attachments --------------------------------------------------

    @cached_property
    def tree(self) -> list[tuple[int, Node]]:
        """Every part as (depth, part), in the order the MIME tab lists them, with decoded sizes."""
        for node in self.nodes:
            if node.is_container:
                continue
            if self.notes.out_of_time(f"sizes from {node.label} on are not known"):
                break
            measured = content.size(self.raw, node, self.notes)
            node.size = -1 if measured is None else measured
        for node in reversed(self.nodes):  # children come after their parent
            if node.is_container:
                node.size = sum(child.size for child in node.children if child.size > 0)
        return [(node.depth, node) for node in self.nodes]

    @cached_property
    def attachments(self) -> list[Attachment]:
        self.tree  # noqa: B018 (sizes)
        return [
            Attachment(index, node.path, node.filename, node.content_type, node.size, node.content_id, node.disposition)
            for index, node in enumerate(self.attachment_parts)
        ]

    @property
    def has_attachments(self) -> bool:
        return bool(self.attachment_parts)

    @property
    def files(self) -> list[Attachment]:
        """Attachments that are files, not images shown inside the HTML body."""
        return [attachment for attachment in self.attachments if not attachment.inline]

    @property
    def inline(self) -> list[Attachment]:
        """Attachments shown inside the HTML body (by Content-ID)."""
        return [attachment for attachment in self.attachments if attachment.inline]

    @cached_property
    def links(self) -> list[links.Link]:
        found = links.html_links(self.html or "", self.notes) + links.text_links(self.text or "")
        return links.unique(found)

    # --- contents --------------------------------------------------------------

    def part(self, path: str) -> Node | None:
        """The part at `path` ("" is the whole message), or None."""
        node = self.root
        for step in path.split(".") if path else []:
            if not step.isdigit() or not 1 <= int(step) <= len(node.children):
                return None
            node = node.children[int(step) - 1]
        return node

    def content(self, path: str) -> bytes | None:
        """The decoded content of the part at `path`; None for a container, a missing part or past the budget."""
        node = self.part(path)
        if node is None or node.is_container:
            return None
        return content.decoded(self.raw, node, self.notes)

    def attachment(self, index: int) -> tuple[Attachment, bytes] | None:
        """The `index`-th attachment (without measuring the others) and its decoded content, or None."""
        if not 0 <= index < len(self.attachment_parts):
            return None
        node = self.attachment_parts[index]
        data = content.decoded(self.raw, node, self.notes) or b""
        found = Attachment(
            index, node.path, node.filename, node.content_type, len(data), node.content_id, node.disposition
        )
        return found, data


def read(raw: bytes) -> ParsedMessage:
    """Everything a page or the API shows, read at once so that `cuts` and `errors` are complete."""
    message = ParsedMessage(raw)
    message.headers  # noqa: B018 (each reads and notes on first use)
    message.text  # noqa: B018
    message.html  # noqa: B018
    message.attachments  # noqa: B018
    message.links  # noqa: B018
    return message
