"""The MIME tree of a message, found by one forward scan of the raw bytes.

The `email` package's parsers recurse once per MIME level (1,000 levels raise
RecursionError) and copy every part into strings. This scan is iterative and
keeps only offsets into the raw bytes: each part is a `Node` with where its
headers start, where its body starts and where it ends. Boundary lines are
found with one regular expression over the boundaries of the multiparts that
are open, so each byte is looked at a bounded number of times.

Budgets: parts nested deeper than MAILDOG_PARSE_MAX_DEPTH are not taken apart
(their container is shown, its contents stay in the raw source); after
MAILDOG_PARSE_MAX_PARTS parts the scan stops. Each cut is written to the
reading's notes. Problems of the message itself (a missing boundary, a missing
blank line after the headers) become errors named as the `email` package names
them.
"""

import email.message
import re
from dataclasses import dataclass, field

from . import headers
from .budgets import Notes

IDENTITY_ENCODINGS = ("", "7bit", "8bit", "binary")
# RFC 2046 allows 70 characters; longer ones are tolerated up to this (boundary patterns stay cheap to build).
MAX_BOUNDARY = 200
EOL_BEFORE = re.compile(rb"\r?\n\Z")


@dataclass(eq=False)
class Node:
    """One part: its place in the tree (`path`, "1.2"; "" is the message), its headers and byte range."""

    path: str
    depth: int
    start: int
    body_start: int = 0
    end: int = -1  # set when the part's end is found
    fields: list[headers.Field] = field(default_factory=list, repr=False)
    content_type: str = "text/plain"
    charset: str = ""
    encoding: str = ""
    disposition: str = ""
    filename: str = ""
    content_id: str = ""
    start_param: str = ""
    boundary: bytes = b""
    size: int = -1  # decoded bytes, once measured (ParsedMessage.tree)
    children: list["Node"] = field(default_factory=list, repr=False)

    @property
    def label(self) -> str:
        return f"part {self.path or '0'} ({self.content_type})"

    @property
    def cid(self) -> str:
        """The Content-ID as `cid:` URLs write it: without the angle brackets."""
        return self.content_id.strip().strip("<>").strip()

    @property
    def is_container(self) -> bool:
        return self.content_type.startswith("multipart/")

    @property
    def is_message(self) -> bool:
        """An attached message: its one child is the message it carries."""
        return self.content_type in ("message/rfc822", "message/global")


@dataclass
class _Frame:
    """A multipart whose boundary lines are being looked for."""

    node: Node
    open_child: Node | None = None
    delimiters: int = 0


class _Scan:
    def __init__(self, raw: bytes, notes: Notes):
        self.raw, self.notes = raw, notes
        self.nodes: list[Node] = []
        self.stack: list[_Frame] = []
        # Enclosing boundaries -> (searched from, next match): valid until the scan passes the match.
        self._next_line: dict[bytes, tuple[int, _BoundaryLine | None]] = {}
        self.stopped = False

    # --- parts ---------------------------------------------------------------

    def open(self, start: int, depth: int, path: str, digest_child: bool) -> Node | None:
        """Read the part's headers at `start`; None (and a cut note) once the parts budget is spent."""
        budgets = self.notes.budgets
        if len(self.nodes) >= budgets.max_parts:
            self.notes.cut(
                f"More than {budgets.max_parts:,} MIME parts (MAILDOG_PARSE_MAX_PARTS): only the first "
                f"{budgets.max_parts:,} are shown; the raw source has the rest."
            )
            self.stopped = True
            return None
        raw = self.raw
        node = Node(path=path, depth=depth, start=start)
        limit = self.next_delimiter(start)
        if start == 0 and raw.startswith(b"From "):  # an mbox "From " line is not a header
            newline = raw.find(b"\n", 0, limit)
            start = limit if newline < 0 else newline + 1
        end = headers.block_end(raw, start, limit)
        node.fields = headers.fields(raw, start, end, self.notes, node.label if path else "the message")
        if raw.startswith(b"\r\n", end, limit):
            node.body_start = end + 2
        elif raw.startswith(b"\n", end, limit):
            node.body_start = end + 1
        else:
            node.body_start = end
            if end < limit:
                self.notes.error(
                    f"In {'part ' + path if path else 'the message'}, a line that is not a header ends the headers "
                    "without a blank line (MissingHeaderBodySeparatorDefect)."
                )
        self._describe(node, digest_child)
        self.nodes.append(node)
        return node

    def _describe(self, node: Node, digest_child: bool) -> None:
        """Content type, parameters and file name through the email package, from the bounded values."""
        message = email.message.Message()
        if digest_child:
            message.set_default_type("message/rfc822")
        for item in node.fields:
            if item.name.lower() in headers.STRUCTURAL:
                message[item.name] = headers.structural(item.value)
        node.content_type = message.get_content_type()
        node.charset = _text(message.get_content_charset())
        node.encoding = _text(message.get("Content-Transfer-Encoding")).strip().lower()
        node.disposition = _text(message.get_content_disposition())
        node.content_id = _text(message.get("Content-ID")).strip()
        filename = message.get_filename()
        if filename:
            node.filename = headers.decoded(str(filename), f"file name of part {node.path or '0'}", self.notes)
        if node.is_container:
            node.start_param = _text(message.get_param("start")).strip()
            boundary = message.get_boundary()
            if not boundary:
                self.notes.error(f"{node.label.capitalize()} has no boundary (NoBoundaryInMultipartDefect).")
            elif len(boundary) > MAX_BOUNDARY:
                self.notes.error(
                    f"{node.label.capitalize()} has a boundary of {len(boundary):,} characters (RFC 2046 allows 70): "
                    "its parts are not read; the raw source has them."
                )
            else:
                node.boundary = boundary.encode("utf-8", "surrogateescape")

    def expand(self, node: Node) -> None:
        """Start looking for the node's parts: a multipart's boundary, an attached message's message."""
        while node is not None and not self.stopped:
            if not (node.is_container and node.boundary) and not (
                node.is_message and node.encoding in IDENTITY_ENCODINGS
            ):
                return
            if node.depth >= self.notes.budgets.max_depth:
                depth = self.notes.budgets.max_depth
                self.notes.cut(
                    f"MIME nested deeper than {depth} levels (MAILDOG_PARSE_MAX_DEPTH): parts below level {depth} "
                    "are not shown; the raw source has them."
                )
                return
            if node.is_container:
                self.stack.append(_Frame(node))
                return
            inner = self.open(node.body_start, node.depth + 1, _child_path(node, 1), False)
            if inner is not None:
                node.children.append(inner)
            node = inner

    # --- boundaries ----------------------------------------------------------
    # Two searches find the next boundary line: one for the innermost multipart's boundary, one for
    # all the enclosing ones. Each enclosing boundary is searched on its own (a small pattern, cached)
    # and its next line is reused until the scan passes it: siblings (each with a boundary of its
    # own) search the rest of the message for an enclosing boundary once, not once each, and nesting
    # compiles no pattern of all the enclosing boundaries together (up to 50 of 200 characters each,
    # which cost more to compile than the search saves).

    def _next_line_of(self, boundary: bytes, position: int) -> "_BoundaryLine | None":
        cached = self._next_line.get(boundary)
        if cached and cached[0] <= position and (cached[1] is None or cached[1].start() >= position):
            return cached[1]
        match = _boundary_line(self.raw, boundary, position, len(self.raw))
        self._next_line[boundary] = (position, match)
        return match

    def _outer_match(self, position: int) -> "_BoundaryLine | None":
        first = None
        for frame in self.stack[:-1]:
            match = self._next_line_of(frame.node.boundary, position)
            if match is None:
                continue
            # The earliest line wins; on the same line the longer boundary, as in one alternation.
            if first is None or (match.start(), -len(match.group(1))) < (first.start(), -len(first.group(1))):
                first = match
        return first

    def search(self, position: int) -> "_BoundaryLine | None":
        """The next boundary line of any open multipart at or after `position` (the innermost wins a tie)."""
        if not self.stack:
            return None
        outer = self._outer_match(position)
        end = outer.end() if outer else len(self.raw)
        inner = _boundary_line(self.raw, self.stack[-1].node.boundary, position, end)
        if inner is not None and (outer is None or inner.start() <= outer.start()):
            return inner
        return outer

    def next_delimiter(self, position: int) -> int:
        match = self.search(position)
        return match.start() if match else len(self.raw)

    def content_end(self, line_start: int) -> int:
        """The CRLF before a boundary line belongs to the boundary (RFC 2046 5.1.1)."""
        if self.raw.startswith(b"\r\n", line_start - 2, line_start):
            return line_start - 2
        if self.raw.startswith(b"\n", line_start - 1, line_start):
            return line_start - 1
        return line_start

    def run(self) -> Node:
        root = self.open(0, 0, "", False)
        self.expand(root)
        position = root.body_start
        while self.stack and not self.stopped:
            if self.notes.out_of_time(f"parts after byte {position:,} are not shown"):
                break
            match = self.search(position)
            if match is None:
                break
            boundary, closing = match.group(1), match.group(2) is not None
            end = self.content_end(match.start())
            index = max(i for i, frame in enumerate(self.stack) if frame.node.boundary == boundary)
            for frame in self.stack[index + 1 :]:  # an outer boundary ends the inner multiparts
                self.notes.error(
                    f"{frame.node.label.capitalize()} ends without its closing boundary (CloseBoundaryNotFoundDefect)."
                )
                _finish(frame.open_child, end)
                _finish(frame.node, end)
            del self.stack[index + 1 :]
            frame = self.stack[index]
            _finish(frame.open_child, end)
            frame.open_child = None
            frame.delimiters += 1
            position = match.end()
            if closing:
                self.stack.pop()
            else:
                child = self.open(
                    match.end(),
                    frame.node.depth + 1,
                    _child_path(frame.node, len(frame.node.children) + 1),
                    frame.node.content_type == "multipart/digest",
                )
                if child is not None:
                    frame.node.children.append(child)
                    frame.open_child = child
                    position = child.body_start
                    self.expand(child)
        for frame in self.stack:
            if not self.stopped and not self.notes.timed_out:
                defect = "CloseBoundaryNotFoundDefect" if frame.delimiters else "StartBoundaryNotFoundDefect"
                self.notes.error(
                    f"{frame.node.label.capitalize()}: its boundary {frame.node.boundary.decode('utf-8', 'replace')!r} "
                    f"{'is never closed' if frame.delimiters else 'never appears'} ({defect})."
                )
            _finish(frame.open_child, len(self.raw))
        _finish(root, len(self.raw))
        return root


class _BoundaryLine:
    """A boundary line: "--", the boundary, "--" if it closes, spaces, then the line end (RFC 2046 5.1.1)."""

    __slots__ = ("_start", "_end", "_groups")

    def __init__(self, start: int, end: int, boundary: bytes, closing: bool):
        self._start, self._end = start, end
        self._groups = (None, boundary, b"--" if closing else None)

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end

    def group(self, number: int):
        """1: the boundary, 2: "--" when the line closes the multipart (else None), as a match's groups."""
        return self._groups[number]


def _line_end(raw: bytes, at: int) -> int:
    """Where the line ends if only spaces and tabs are left on it from `at` (after its CRLF or LF), else -1."""
    size = len(raw)
    while at < size and raw[at] in b" \t":
        at += 1
    if at == size:
        return at
    if raw.startswith(b"\r\n", at):
        return at + 2
    if raw.startswith(b"\n", at):
        return at + 1
    return -1


def _boundary_line(raw: bytes, boundary: bytes, position: int, end: int) -> _BoundaryLine | None:
    """The first line of `boundary` starting in [position, end): a substring search, no pattern to compile
    (a message may have a thousand boundaries of 200 characters)."""
    needle = b"--" + boundary
    at = position
    while (found := raw.find(needle, at, end)) >= 0:
        if found == 0 or raw[found - 1] == 0x0A:  # at the start of a line
            after = found + len(needle)
            if raw.startswith(b"--", after) and (line_end := _line_end(raw, after + 2)) >= 0:
                return _BoundaryLine(found, line_end, boundary, True)
            if (line_end := _line_end(raw, after)) >= 0:
                return _BoundaryLine(found, line_end, boundary, False)
        at = found + 1
    return None


def _finish(node: Node | None, end: int) -> None:
    """End a part (and the message an attached message carries) at `end`, unless already ended."""
    while node is not None and node.end < 0:
        node.end = end
        node = node.children[0] if node.is_message and node.children else None


def _child_path(parent: Node, number: int) -> str:
    return f"{parent.path}.{number}" if parent.path else str(number)


def _text(value) -> str:
    return str(value) if value else ""


def scan(raw: bytes, notes: Notes) -> tuple[Node, list[Node]]:
    """The message's tree (root) and its nodes in document order, within the budgets."""
    walk = _Scan(raw, notes)
    root = walk.run()
    return root, walk.nodes
