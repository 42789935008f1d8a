"""The one bounded parser: how Maildog reads a captured message, for lists, pages and the API.

Two entries:

- `summarize(raw) -> Summary`: the subject, addresses, date, text and
  `has_attachments` stored with each message at ingest;
- `read(raw) -> ParsedMessage`: everything the message page and the API show
  (headers, bodies, MIME tree, attachments, links); `ParsedMessage(raw)` alone
  serves part and attachment downloads, decoding only the part asked for.

Both read within the same budgets (settings MAILDOG_PARSE_MAX_DEPTH, _MAX_PARTS,
_MAX_HEADER_BYTES, _MAX_ENCODED_WORDS, _MAX_DECODED_BYTES, _TIME_LIMIT), checked
before the `email` package sees any bytes. Nothing here raises on a message:
what a budget left out is a sentence in `cuts`, what is wrong with the message
a sentence in `errors`, and the raw source is always there to see.
"""

from .budgets import Budgets
from .links import Link
from .reading import Attachment, Header, ParsedMessage, read
from .structure import Node as Part
from .summary import Summary, summarize
from .text import clean_text

__all__ = [
    "Attachment",
    "Budgets",
    "Header",
    "Link",
    "ParsedMessage",
    "Part",
    "Summary",
    "clean_text",
    "read",
    "summarize",
]
