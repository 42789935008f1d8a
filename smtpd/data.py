"""Reading a message after DATA, in bounded pieces and into one buffer.

aiosmtpd reads DATA line by line with a stream limit as large as the longest
line it accepts, keeps every line as its own object and joins them at the end:
a 25 MB message cost several times its size, and a read per line (a megabyte of
base64 is 13,000 of them). Here the stream keeps its small command-line limit
and is read up to each ".<CRLF>" (the end can only be one of those) or a
limit's worth at a time; dot-stuffing is undone piece by piece, and every piece
goes into one growing buffer that becomes the message without another copy.
"""

import asyncio
import io

END = b"\r\n.\r\n"
STUFFED = b"\r\n."  # RFC 5321 4.5.2: a line starting with "." came with one more in front


async def read_message(reader: asyncio.StreamReader, max_bytes: int) -> bytes | None:
    """Read up to the lone "." line; return the message with dot-stuffing undone.

    Lines may be of any length. When the message grows past `max_bytes` the
    rest is read and discarded, and None is returned.
    """
    body: io.BytesIO | None = io.BytesIO()
    size = 0
    # The last two bytes read (a line break before the message starts): the end and a
    # stuffed dot are three bytes, and may begin in the piece before.
    tail = b"\r\n"
    while True:
        try:
            piece = await reader.readuntil(b".\r\n")
        except asyncio.LimitOverrunError as overrun:
            # No ".<CRLF>" within the stream's limit: take what can be taken without
            # cutting one in two (the last two bytes stay for the next read).
            piece = await reader.read(overrun.consumed)
        joined = tail + piece
        end = joined.endswith(END)
        if end:
            joined = joined[:-3]  # the lone dot line; the line break before it is the message's
        text = joined.replace(STUFFED, b"\r\n")[len(tail) :]
        tail = joined[-2:]
        size += len(text)
        if body is not None:
            if size > max_bytes:
                body = None  # too big: drop what was kept, read on to the end
            else:
                body.write(text)
        if end:
            return body.getvalue() if body is not None else None
