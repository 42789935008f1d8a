"""Reading a message after DATA, in bounded pieces and into one buffer.

aiosmtpd reads DATA line by line with a stream limit as large as the longest
line it accepts, keeps every line as its own object and joins them at the end:
a 25 MB message cost several times its size. Here the stream keeps its small
command-line limit, a longer line arrives in pieces, and every piece goes into
one growing buffer that becomes the message without another copy.
"""

import asyncio
import io

END = b".\r\n"


async def read_message(reader: asyncio.StreamReader, max_bytes: int) -> bytes | None:
    """Read up to the lone "." line; return the message with dot-stuffing undone.

    Lines may be of any length. When the message grows past `max_bytes` the
    rest is read and discarded, and None is returned.
    """
    body: io.BytesIO | None = io.BytesIO()
    size = 0
    at_line_start = True
    while True:
        try:
            piece = await reader.readuntil(b"\r\n")
        except asyncio.LimitOverrunError as overrun:
            # A line longer than the stream's limit: take what is buffered, the
            # rest of the line follows (a trailing "\r" stays for the next read).
            piece = await reader.read(overrun.consumed)
        if at_line_start:
            if piece == END:
                break
            if piece[:1] == b".":
                piece = piece[1:]  # RFC 5321 4.5.2: the client doubled a leading dot
        at_line_start = piece[-2:] == b"\r\n"
        size += len(piece)
        if body is not None:
            if size > max_bytes:
                body = None  # too big: drop what was kept, read on to the end
            else:
                body.write(piece)
    return body.getvalue() if body is not None else None
