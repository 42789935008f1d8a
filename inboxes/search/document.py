"""What a message contributes to the index: its four fields, and PostgreSQL's tsvector for them.

The same words as `query.words_of` (runs of letters and digits, lower-cased),
so that a query means the same on SQLite (FTS5 splits the same way) and on
PostgreSQL. The tsvector is written as its text form, which PostgreSQL reads
hundreds of times faster than it runs `to_tsvector` over the text.

Each whole address in the senders and recipients is also indexed as one word
(`query.address_word`: ann@example.com is `annq40qexampleq2eqcom`), so that
`from:ann@example.com` is one index lookup rather than a phrase whose last
words ("example com") are in half the inbox. On SQLite it goes into the FTS5
column of its field; on PostgreSQL it is a word of its own with the field in
it (`from:annq40q...`, `to:...`, no position), as is `has:attachment`, so that
`from:<address> has:attachment` is answered by the GIN index alone, without
reading each candidate's tsvector (a weight would need that) or row.
"""

import re
from collections.abc import Sequence

from .query import address_word, words_of

# PostgreSQL's limits: positions up to 16,383, 256 positions per word, words under 2 KB.
MAX_POSITION = 16383
MAX_POSITIONS = 256
MAX_LEXEME = 500
MAX_VECTOR_TEXT = 400_000  # characters of tsvector text: well under PostgreSQL's 1 MB per tsvector
# Query field -> tsvector weight (subject A, senders B, recipients C, body and attachment names D)
WEIGHTS = {"subject": "A", "from": "B", "to": "C", "body": "D"}
_BODY_POSITIONS = [str(number) for number in range(MAX_POSITION + 1)]  # "0" ... "16383"
MAX_ADDRESSES = 50  # whole-address words per field (a hostile To: can list thousands)
# The usual delimiters around an address in a header or envelope.
ADDRESS_DELIMITERS = re.compile(r"""[\s<>()\[\],;:"']+""")


def addresses_in(text: str):
    """The addresses in `text`: each run between delimiters with an '@' inside it (something@something).

    Split first, then looked at run by run: linear in the text. (A pattern such as
    `[^delimiters]+@[^delimiters]+` searched over a long run without a usable '@' backtracks
    from every position in it: quadratic, seconds for a hostile 64 KB header.)
    """
    for run in ADDRESS_DELIMITERS.split(text):
        if "@" in run[1:-1]:
            yield run


def address_words(text: str) -> list[str]:
    """The whole-address words of the addresses in `text` (each once, at most MAX_ADDRESSES)."""
    if "@" not in text:
        return []
    found: dict[str, None] = {}
    for address in addresses_in(text):
        word = address_word(address.rstrip("."))
        if word and len(word) <= MAX_LEXEME:
            found[word] = None
            if len(found) == MAX_ADDRESSES:
                break
    return list(found)


def addresses(from_header, envelope_from, to_header, cc_header, envelope_to) -> tuple[str, str]:
    """(senders', recipients') whole-address words, each a space-separated string."""
    senders = address_words(f"{from_header} {envelope_from}")
    recipients = address_words(f"{to_header} {cc_header} {' '.join(envelope_to or [])}")
    return " ".join(senders), " ".join(recipients)


def sqlite_terms(from_header, envelope_from, to_header, cc_header, envelope_to) -> str:
    """SQLite: what the message row keeps for FTS5 in `search_vector`, "<senders' words>/<recipients' words>".

    FTS5's triggers add them to the sender and recipients columns: SQL cannot
    find the addresses in a header, so they are found once, here, at ingest.
    """
    return "/".join(addresses(from_header, envelope_from, to_header, cc_header, envelope_to))


def fields(subject, from_header, envelope_from, to_header, cc_header, envelope_to, text_body, attachment_names):
    """The four indexed fields of a message, from its stored values."""
    return {
        "subject": subject,
        "from": f"{from_header} {envelope_from}",
        "to": f"{to_header} {cc_header} {' '.join(envelope_to or [])}",
        "body": f"{text_body} {attachment_names}",
    }


HAS_ATTACHMENT = "has:attachment"  # PostgreSQL: the word of messages with attachments (no text makes a ':')


def flags(from_header, envelope_from, to_header, cc_header, envelope_to, has_attachments) -> list[str]:
    """PostgreSQL: the words without positions of a message: `from:<address word>`, `to:<address word>`
    for each whole address (at most MAX_ADDRESSES per field), and `has:attachment`."""
    senders, recipients = addresses(from_header, envelope_from, to_header, cc_header, envelope_to)
    found = ["from:" + word for word in senders.split()] + ["to:" + word for word in recipients.split()]
    return found + [HAS_ATTACHMENT] if has_attachments else found


def tsvector(indexed: dict[str, str], extra: Sequence[str] = ()) -> str:
    """The tsvector text of the fields: each word once with its positions ('reset':9A,40 'ann':1B ...).

    Each word's positions are gathered here: PostgreSQL reads that text in about half the time it
    took to read each occurrence as an entry of its own and merge them (its parsing was most of what
    writing a message's words cost the database), for a few tens of microseconds of Python.
    Positions are ready-made texts (no formatting per word). Body positions carry no letter (D is the
    default weight). A gap between fields keeps a phrase from spanning two. Positions stop at 16,383
    (PostgreSQL's last), a word keeps its first MAX_POSITIONS, words over MAX_LEXEME characters are
    left out, and the text stops at MAX_VECTOR_TEXT characters, after a whole word (a hostile
    message: PostgreSQL refuses a tsvector over 1 MB). `extra` words (`flags`: letters, digits and
    ':') come first, without positions.
    """
    found: dict[str, list[str]] = {}
    position = 1
    for name, weight in WEIGHTS.items():
        words = words_of(indexed[name])[: MAX_POSITION - position + 1]
        if not words:
            continue
        numbers = _BODY_POSITIONS[position : position + len(words)]
        position += len(words) + 1
        if weight != "D":
            numbers = [number + weight for number in numbers]
        for word, number in zip(words, numbers):
            at = found.get(word)
            if at is None:
                found[word] = [number]
            else:
                at.append(number)
        if position > MAX_POSITION:
            break
    pieces = ["'" + "' '".join(extra) + "'"] if extra else []
    if found:
        pieces += [
            "'" + word + "':" + ",".join(at[:MAX_POSITIONS]) for word, at in found.items() if len(word) <= MAX_LEXEME
        ]
    text = " ".join(pieces)
    if len(text) > MAX_VECTOR_TEXT:
        text = text[:MAX_VECTOR_TEXT].rsplit(" ", 1)[0]
    return text


def search_terms(message, vendor: str) -> str | None:
    """What `Message.search_vector` holds for the database: the tsvector text on PostgreSQL, the
    whole-address words on SQLite (`sqlite_terms`)."""
    if vendor == "postgresql":
        return message_tsvector(message)
    if vendor == "sqlite":
        return sqlite_terms(
            message.from_header, message.envelope_from, message.to_header, message.cc_header, message.envelope_to
        )
    return None


def message_tsvector(message) -> str:
    """The tsvector text of a Message (or any object with its fields)."""
    return tsvector(
        fields(
            message.subject,
            message.from_header,
            message.envelope_from,
            message.to_header,
            message.cc_header,
            message.envelope_to,
            message.text_body,
            message.attachment_names,
        ),
        flags(
            message.from_header,
            message.envelope_from,
            message.to_header,
            message.cc_header,
            message.envelope_to,
            message.has_attachments,
        ),
    )
