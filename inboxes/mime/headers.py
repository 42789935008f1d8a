"""Header fields: where a header block ends, its fields, and their values decoded for people.

Header blocks are split with regular expressions on the raw bytes (no copies of
the body). Values are decoded within the budgets, before the `email` package
sees them: a value longer than MAILDOG_PARSE_MAX_HEADER_BYTES is cut, and only
the first MAILDOG_PARSE_MAX_ENCODED_WORDS RFC 2047 encoded-words of a value are
decoded (the `email` package's own header decoding is quadratic in their
number). Raw UTF-8 (RFC 6532) and encoded-words may be mixed in one value:
the bytes are read as UTF-8 first, then the encoded-words are decoded.
"""

import email.errors
import email.header
import re
from dataclasses import dataclass

from .budgets import Notes
from .text import clean_text, decode

# One field: a name (printable ASCII but ":", as the email package's parser
# accepts), its first line and its continuation lines (starting with space or tab).
_LINE = rb"[^\n]*(?:\n|\Z)"
FIELD = re.compile(rb"([\x21-\x39\x3b-\x7e]+):(" + _LINE + rb"(?:[ \t]" + _LINE + rb")*+)")
# A whole header block; possessive, so a block of millions of fields keeps no backtracking state.
BLOCK = re.compile(rb"(?:[\x21-\x39\x3b-\x7e]+:" + _LINE + rb"(?:[ \t]" + _LINE + rb")*+)*+")
FOLD = re.compile(rb"\r?\n(?=[ \t])")
ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?\s]*)\?=")
# Fields listed per part (Headers tab, API); Content-* fields are read wherever they are.
SHOWN_FIELDS = 1000
STRUCTURAL = ("content-type", "content-transfer-encoding", "content-disposition", "content-id")
STRUCTURAL_FIELD = re.compile(rb"^content-(?:type|transfer-encoding|disposition|id):", re.IGNORECASE | re.MULTILINE)
# Structural values go to the email package's parameter parser, which is quadratic in the number of parameters.
STRUCTURAL_BYTES = 8 * 1024


@dataclass
class Field:
    """One header field as sent: its name, its value's bytes (cut to the budget) and the value's full length."""

    name: str
    value: bytes
    length: int


def block_end(raw: bytes, start: int, limit: int) -> int:
    """Where the header block starting at `start` ends (before the blank line), not past `limit`."""
    return BLOCK.match(raw, start, limit).end()


def fields(raw: bytes, start: int, end: int, notes: Notes, label: str) -> list[Field]:
    """The fields between `start` and `end`: the first SHOWN_FIELDS, then only Content-* ones."""
    found, matches = [], FIELD.finditer(raw, start, end)
    for match in matches:
        found.append(_field(raw, match, notes, label))
        if len(found) == SHOWN_FIELDS:
            break
    else:
        return found
    # Past the fields shown, only the structural ones are looked for (by a search, not field by field).
    position = match.end()
    if FIELD.match(raw, position, end):
        notes.cut(f"More than {SHOWN_FIELDS:,} header fields in {label}: only the first {SHOWN_FIELDS:,} are shown.")
    while (structural_start := STRUCTURAL_FIELD.search(raw, position, end)) is not None:
        match = FIELD.match(raw, structural_start.start(), end)
        found.append(_field(raw, match, notes, label))
        position = match.end()
    return found


def _field(raw: bytes, match: re.Match, notes: Notes, label: str) -> Field:
    name = match.group(1).decode("ascii")
    value_start, value_end = match.span(2)
    length = value_end - value_start - _line_end(raw, value_end)
    cap = notes.budgets.max_header_bytes
    if length > cap:
        notes.cut(
            f"The {name} header of {label} is {length:,} bytes long: only its first {cap:,} bytes "
            "are read (MAILDOG_PARSE_MAX_HEADER_BYTES)."
        )
        value_end = value_start + cap
    return Field(name, raw[value_start:value_end], length)


def _line_end(raw: bytes, end: int) -> int:
    """How many bytes of line ending (CRLF or LF) end at `end`."""
    return 2 if raw.startswith(b"\r\n", end - 2, end) else 1 if raw.startswith(b"\n", end - 1, end) else 0


def unfolded(value: bytes, encoding: str = "utf-8") -> str:
    """A field value on one line, as sent; bytes `encoding` cannot read are kept as surrogates."""
    text = FOLD.sub(b"", value).lstrip(b" \t").rstrip(b"\r\n \t")
    return text.decode(encoding, "surrogateescape")


def structural(value: bytes) -> str:
    """A Content-* value for the email package's parameter parser, within STRUCTURAL_BYTES.

    8-bit bytes become surrogates, as the email package's own parser leaves them.
    """
    return unfolded(value[:STRUCTURAL_BYTES], "ascii")


def decoded(value: bytes | str, name: str, notes: Notes) -> str:
    """A value for people: raw UTF-8 read as such, then at most MAILDOG_PARSE_MAX_ENCODED_WORDS words decoded."""
    text = clean_text(unfolded(value) if isinstance(value, bytes) else value)
    if "=?" not in text:
        return text
    cap = notes.budgets.max_encoded_words
    out: list[str] = []
    run: list[tuple[bytes, str, str]] = []  # adjacent encoded-words: (bytes, charset, as sent)
    position = 0
    for count, match in enumerate(ENCODED_WORD.finditer(text)):
        if count == cap:
            notes.cut(
                f"The {name} header has more than {cap:,} encoded-words: only the first {cap:,} are decoded "
                "(MAILDOG_PARSE_MAX_ENCODED_WORDS), the rest is shown as sent."
            )
            break
        between = text[position : match.start()]
        if not (run and between.strip(" \t") == ""):  # RFC 2047: space between two words is not text
            out.append(_decode_run(run, name, notes))
            run = []
            out.append(between)
        run.append(_word(match.group(0), name, notes))
        position = match.end()
    out.append(_decode_run(run, name, notes))
    out.append(text[position:])
    return clean_text("".join(out))


def _word(word: str, name: str, notes: Notes) -> tuple[bytes, str, str]:
    try:
        [(data, charset)] = email.header.decode_header(word)
    except (email.errors.HeaderParseError, ValueError):
        notes.error(f"The {name} header has an encoded-word that cannot be decoded: {word[:80]!r}.")
        return b"", "", word
    return data, (charset or "").lower(), word


def _decode_run(run, name, notes) -> str:
    """Adjacent encoded-words in one charset are joined before decoding: a character may span two words."""
    out, index = [], 0
    while index < len(run):
        data, charset, sent = run[index]
        if not charset:  # undecodable word, kept as sent
            out.append(sent)
            index += 1
            continue
        chunk, words = [data], [sent]
        index += 1
        while index < len(run) and run[index][1] == charset:
            chunk.append(run[index][0])
            words.append(run[index][2])
            index += 1
        text, usable = decode(b"".join(chunk), charset)
        if not usable:
            notes.error(f"The {name} header names an unknown charset {charset!r}: those words are shown as sent.")
            text = "".join(words)
        out.append(text)
    return "".join(out)
