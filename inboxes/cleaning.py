"""Making strings from the wire safe to store and show.

Envelope addresses, the HELO name and the AUTH user arrive as whatever bytes a
client sent: aiosmtpd hands them over as str with undecodable bytes as lone
surrogates, and they may hold NUL characters. Neither can be encoded for a
page or a JSON answer, and PostgreSQL refuses NUL in text and JSON columns, so
every such string goes through `clean_string` before it is stored.
"""


def clean_string(value, max_length: int | None = None) -> str:
    """`value` as valid UTF-8 text without NULs, cut to `max_length` characters.

    Bytes that aiosmtpd escaped (surrogateescape) are read back as UTF-8; what
    is still not valid UTF-8 and any other lone surrogate becomes U+FFFD, and
    so does NUL.
    """
    text = value if isinstance(value, str) else str(value)
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        # Surrogates outside the escape range: encode them as they are, so
        # that decoding below replaces them.
        data = text.encode("utf-8", "surrogatepass")
    text = data.decode("utf-8", "replace").replace("\x00", "\ufffd")
    return text if max_length is None else text[:max_length]
