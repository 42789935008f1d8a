"""Bytes to text that any page and any database accept.

`clean_text` turns anything into a str without NULs or lone surrogates.
`decode` reads bytes in a declared charset; unknown charsets, and codecs that
are not plain character sets or are slow on hostile input (punycode and idna
are quadratic), fall back to UTF-8 with replacement characters.
"""

import codecs

from ..cleaning import clean_string

# Codecs a message may name that are not character sets for mail bodies.
REFUSED_CODECS = {"punycode", "idna", "raw_unicode_escape", "unicode_escape"}


def clean_text(value) -> str:
    """A str that any database accepts (the one rule for strings from the wire: `inboxes.cleaning`)."""
    return clean_string(value)


def known_charset(charset: str) -> str | None:
    """The codec name for a declared charset, or None if Maildog does not decode with it."""
    name = (charset or "").split("*", 1)[0].strip().strip('"').lower()
    if not name or len(name) > 64:
        return None
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if info.name in REFUSED_CODECS:
        return None
    return info.name


def decode(data: bytes, charset: str | None) -> tuple[str, bool]:
    """`data` as text in `charset` (UTF-8 if none); the flag is False if the charset was not usable."""
    codec = known_charset(charset) if charset else "utf-8"
    usable = codec is not None
    try:
        text = bytes(data).decode(codec or "utf-8", "replace")
    except (LookupError, ValueError, TypeError):  # not a text codec (rot13, zlib), or one refusing "replace"
        text, usable = bytes(data).decode("utf-8", "replace"), False
    return clean_text(text), usable
