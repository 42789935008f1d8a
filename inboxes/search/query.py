"""The search language: one parser for the inbox page, the API's `q=` and the client library.

A query is a list of terms, all of which must match (AND):

- free words match the subject, the senders and recipients (addresses and
  display names), the text body and attachment file names;
- `from:`, `to:`, `subject:`, `body:` restrict a word or phrase to one field;
- `"quoted phrases"` match words next to each other, in order;
- a word ending in `*` matches words that begin with it (`4829*`);
  `from:` and `to:` values without an @ match the beginning of their last word
  (`from:ann` finds ann.lee@example.com), and so do words with digits in them (codes);
  `from:` and `to:` with a whole address (`from:ann@example.com`, unquoted) match that address;
- `-term` excludes what the term matches;
- `has:attachment`, `is:read`, `is:unread`, `before:`/`after:` (a date, or an
  ISO 8601 time), `size:>1mb` (also `<`, `>=`, `<=`; kb, mb, bytes),
  `dmarc:<verdict>`, `id:<Message-ID>`.

Words are compared the way the index splits them: runs of letters and digits,
lower-cased; everything else separates words (so `ann@example.com` is the
phrase "ann example com"). A `name:` that is not an operator is searched as
words. Malformed queries raise `QueryError` with a message meant for people.
Budgets: `MAX_QUERY_LENGTH` characters, `MAX_TERMS` terms, `MAX_WORDS` words.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, time
from datetime import timezone as dt_timezone

from django.utils.dateparse import parse_date, parse_datetime

MAX_QUERY_LENGTH = 500
MAX_TERMS = 20
MAX_WORDS = 32
MAX_WORD_LENGTH = 100

TEXT_FIELDS = ("from", "to", "subject", "body")
# Deliverability verdicts as stored on Message.deliverability_verdict; "pending": not checked yet.
VERDICTS = ("pass", "fail", "none", "temperror", "error", "pending")
SIZE_UNITS = {
    "": 1,
    "b": 1,
    "bytes": 1,
    "k": 1024,
    "kb": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
}

WORD_RE = re.compile(r"[^\W_]+")
TOKEN_RE = re.compile(
    r"""
    \s*(?P<neg>-)?
    (?:(?P<field>[A-Za-z]+):)?
    (?:"(?P<phrase>[^"]*)(?P<closed>"?)|(?P<bare>[^\s"]*))
    """,
    re.VERBOSE,
)
SIZE_RE = re.compile(r"^(?P<op>>=|<=|>|<|=)?(?P<number>\d+(?:\.\d+)?)(?P<unit>[a-z]*)$")


class QueryError(ValueError):
    """A query that cannot be read; the message says why, for the person who typed it."""


# ASCII text, the usual case, is split five times faster by a translation table than by WORD_RE.
_ASCII_SEPARATORS = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})


def words_of(text: str) -> list[str]:
    """The words the index sees in `text`: runs of letters and digits, lower-cased."""
    text = text.lower()
    if text.isascii():
        return text.translate(_ASCII_SEPARATORS).split()
    return WORD_RE.findall(text)


# A whole address written as one word of ASCII letters and digits: "q" is "qq", any other character
# but a-z and 0-9 is "q<hex code>q" (so the spelling can be read back, and two addresses never meet).
_ADDRESS_ESCAPES = str.maketrans(
    {"q": "qq"} | {chr(c): f"q{c:x}q" for c in range(128) if not (chr(c).islower() or chr(c).isdigit())}
)
_NOT_ASCII = re.compile(r"[^\x00-\x7f]")
ADDRESS_RE = re.compile(r"""^[^\s<>()\[\],;:"'@]+@[^\s<>()\[\],;:"'@]+$""")


def address_word(address: str) -> str:
    """The one word the index keeps for a whole address (document.address_words), lower-cased."""
    address = address.lower().translate(_ADDRESS_ESCAPES)
    if not address.isascii():
        address = _NOT_ASCII.sub(lambda match: f"q{ord(match[0]):x}q", address)
    return address


@dataclass(frozen=True)
class Text:
    """Words that must appear next to each other (one word, or a phrase) in a field (None: any)."""

    words: tuple[str, ...]
    field: str | None = None
    prefix: bool = False
    negated: bool = False
    shown: tuple[str, ...] = ()  # the words to highlight, when not `words` (a whole address)


@dataclass(frozen=True)
class Condition:
    """A test on a message's stored facts.

    `kind`: has_attachment, is_read, received, size, verdict, message_id, seq or pk.
    """

    kind: str
    op: str = "="  # for received, size, seq, pk: one of > >= < <=
    value: object = True
    negated: bool = False


@dataclass
class Query:
    texts: list[Text] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)

    @property
    def highlight_words(self) -> list[tuple[str, bool]]:
        """(word, is_prefix) for every word a result is shown to match (negated terms excluded)."""
        found: list[tuple[str, bool]] = []
        for text in self.texts:
            if text.negated:
                continue
            if text.shown:
                found.extend((word, False) for word in text.shown)
                continue
            for index, word in enumerate(text.words):
                found.append((word, text.prefix and index == len(text.words) - 1))
        return found

    def __bool__(self):
        return bool(self.texts or self.conditions)

    def add(self, other: "Query") -> "Query":
        return Query(self.texts + other.texts, self.conditions + other.conditions)


def text_term(value: str, field_name: str | None = None, *, phrase: bool = False, negated: bool = False) -> Text:
    """A Text term from what the user typed (used by the parser and the API's field filters)."""
    star = value.rstrip().endswith("*")
    words = words_of(value)
    if not words:
        where = f"{field_name}:" if field_name else "the query"
        raise QueryError(f"Nothing to search for in {where} {value!r}: use letters or digits.")
    if len(words) > MAX_WORDS:
        raise QueryError(f"Too many words in one term (at most {MAX_WORDS}).")
    if any(len(word) > MAX_WORD_LENGTH for word in words):
        raise QueryError(f"A word is too long (at most {MAX_WORD_LENGTH} characters).")
    if field_name in ("from", "to") and not phrase and ADDRESS_RE.match(value.strip().rstrip(".")):
        # A whole address is one word of the index (document.address_words): one lookup. Quoted, or
        # through the API's field filters (phrases), it stays the words of the address in a row.
        return Text((address_word(value.strip().rstrip(".")),), field_name, False, negated, shown=tuple(words))
    # A name or the start of an address (from:ann) is a beginning; a whole address
    # (from:ann@example.com) is not: its last word ("com") begins half the index.
    partial_address = field_name in ("from", "to") and "@" not in value
    prefix = star or (not phrase and (partial_address or any(c.isdigit() for c in words[-1])))
    return Text(tuple(words), field_name, prefix, negated)


def read_time(value: str, name: str) -> tuple[datetime, bool]:
    """(an aware datetime, whether it was a date only) for before:/after:."""
    try:
        found = parse_datetime(value)
    except ValueError:
        found = None
    if found is not None:
        if found.tzinfo is None:
            found = found.replace(tzinfo=dt_timezone.utc)
        return found, False
    try:
        day = parse_date(value)
    except ValueError:
        day = None
    if day is None:
        raise QueryError(
            f"{name}: expects a date (2024-05-01) or an ISO 8601 time (2024-05-01T12:00:00Z), not {value!r}."
        )
    return datetime.combine(day, time.min, tzinfo=dt_timezone.utc), True


def _size(value: str) -> Condition:
    match = SIZE_RE.match(value.lower())
    if not match or match["unit"] not in SIZE_UNITS:
        raise QueryError(f"size: expects a size such as >1mb, <20kb or >=500 (bytes), not {value!r}.")
    op = match["op"] or ">="
    if op == "=":
        op = ">="
    return Condition("size", op, int(float(match["number"]) * SIZE_UNITS[match["unit"]]))


def _operator(name: str, value: str, negated: bool) -> Condition | None:
    """The condition for `name:value`, or None when `name` is not an operator."""
    lowered = value.lower()
    if name == "has":
        if lowered not in ("attachment", "attachments"):
            raise QueryError(f"has: knows only has:attachment, not has:{value}.")
        return Condition("has_attachment", negated=negated)
    if name == "is":
        if lowered not in ("read", "unread"):
            raise QueryError(f"is: knows is:read and is:unread, not is:{value}.")
        return Condition("is_read", value=lowered == "read", negated=negated)
    if name in ("before", "after"):
        moment, whole_day = read_time(value, name)
        if name == "after":
            # after:2024-05-01 includes that day; after:<time> is strictly later.
            return Condition("received", ">=" if whole_day else ">", moment, negated)
        return Condition("received", "<", moment, negated)
    if name == "size":
        condition = _size(value)
        return Condition(condition.kind, condition.op, condition.value, negated)
    if name in ("dmarc", "verdict", "auth"):
        if lowered not in VERDICTS:
            raise QueryError(f"{name}: expects one of {', '.join(VERDICTS)}, not {value!r}.")
        return Condition("verdict", value="" if lowered == "pending" else lowered, negated=negated)
    if name == "id":
        bare = value.strip().strip("<>").strip()
        if not bare:
            raise QueryError("id: expects a Message-ID, such as id:<abc@example.com>.")
        return Condition("message_id", value=bare, negated=negated)
    return None


def parse(text: str) -> Query:
    """Read a query; raise QueryError when it is malformed or over a budget."""
    text = text.strip()
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"The query is too long ({len(text)} characters; at most {MAX_QUERY_LENGTH}).")
    query = Query()
    position, terms = 0, 0
    while position < len(text):
        match = TOKEN_RE.match(text, position)
        if match is None or match.end() == position:  # cannot happen with this pattern, but never loop
            raise QueryError(f"Cannot read the query at {text[position : position + 20]!r}.")
        position = match.end()
        negated = bool(match["neg"])
        name = (match["field"] or "").lower()
        phrase = match["phrase"] is not None
        if phrase and not match["closed"]:
            raise QueryError('A quoted phrase is not closed: add the closing ".')
        value = match["phrase"] if phrase else match["bare"]
        if not value.strip():
            if name:
                raise QueryError(f"{name}: needs a value, such as {name}:something (no space after the colon).")
            if negated:
                raise QueryError("A lone - needs a word after it, such as -newsletter.")
            if phrase:
                raise QueryError('An empty phrase "" searches for nothing.')
            continue
        terms += 1
        if terms > MAX_TERMS:
            raise QueryError(f"Too many terms (at most {MAX_TERMS}).")
        if name in TEXT_FIELDS:
            query.texts.append(text_term(value, name, phrase=phrase, negated=negated))
            continue
        condition = _operator(name, value, negated) if name else None
        if condition is not None:
            query.conditions.append(condition)
        else:
            # Not an operator ("re:", "http:"): the whole thing is words.
            typed = f"{match['field']}:{value}" if name else value
            query.texts.append(text_term(typed, None, phrase=phrase, negated=negated))
    return query
