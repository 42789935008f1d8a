"""A part's content: transfer decoding (base64, quoted-printable) of one part at a time.

Contents are decoded only when asked for, straight from the raw bytes (no copy
of the encoded text), and never kept: the caller holds the one decoded copy.
Every decoded byte is charged to the reading's MAILDOG_PARSE_MAX_DECODED_BYTES.
Damaged base64 is decoded as far as it goes and noted.
"""

import binascii
import re

from .budgets import Notes
from .structure import IDENTITY_ENCODINGS, Node

NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/=\s]")
BASE64_ALPHABET = re.compile(rb"[^A-Za-z0-9+/]")


def encoded(raw: bytes, node: Node) -> memoryview:
    """The part's body as sent (no copy)."""
    return memoryview(raw)[node.body_start : max(node.body_start, node.end)]


def size(raw: bytes, node: Node, notes: Notes) -> int | None:
    """The part's decoded size (decoding it if it is encoded, then letting it go); None past the budget."""
    if node.encoding in IDENTITY_ENCODINGS or node.is_message:
        return len(encoded(raw, node))
    data = decoded(raw, node, notes)
    return None if data is None else len(data)


def decoded(raw: bytes, node: Node, notes: Notes, limit: int | None = None) -> bytes | None:
    """The part's body after transfer decoding; None if the decoded-bytes budget is spent.

    With `limit`, at most that many bytes (content sent as is is then read only
    that far). An attached message is given as the message's own bytes, as sent.
    """
    body = encoded(raw, node)
    encoding = node.encoding
    if limit is not None and encoding in IDENTITY_ENCODINGS:
        body = body[:limit]
    if not notes.spend_decoded(len(body), node.label):
        return None
    if encoding == "base64":
        data = _base64(body, node, notes)
    elif encoding == "quoted-printable":
        data = binascii.a2b_qp(body)
    else:
        if encoding not in IDENTITY_ENCODINGS:
            notes.error(f"{node.label.capitalize()} has an unknown transfer encoding {encoding!r}: shown as sent.")
        data = body.tobytes()
    return data if limit is None or len(data) <= limit else data[:limit]


def _base64(body: memoryview, node: Node, notes: Notes) -> bytes:
    if NOT_BASE64.search(body):
        notes.error(
            f"{node.label.capitalize()}: characters outside the base64 alphabet were skipped "
            "(InvalidBase64CharactersDefect)."
        )
    try:
        return binascii.a2b_base64(body)
    except binascii.Error:
        pass
    # A last group without its padding: pad it (one letter alone carries no byte) and say so.
    notes.error(f"{node.label.capitalize()}: the base64 padding is wrong (InvalidBase64PaddingDefect).")
    letters = BASE64_ALPHABET.sub(b"", body)
    letters = letters[: len(letters) - 1] if len(letters) % 4 == 1 else letters + b"=" * (-len(letters) % 4)
    return binascii.a2b_base64(letters)
