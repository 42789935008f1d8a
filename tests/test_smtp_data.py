"""Reading DATA (`smtpd.data.read_message`) from a stream fed in every kind of piece.

Over real connections the same cases are in test_smtp_protocol.py; here the bytes
arrive split at every position, so a line break, a stuffed dot or the end split
between two reads is covered whatever the network does.
"""

import asyncio
import random

import pytest

from smtpd.data import read_message

LIMIT = 64  # the stream's limit: lines and stretches without ".<CRLF>" longer than this come in pieces


def unstuffed(lines: list[bytes]) -> bytes:
    """What the client meant: the lines as they were before it doubled their leading dots."""
    return b"".join(line + b"\r\n" for line in lines)


def on_the_wire(lines: list[bytes]) -> bytes:
    return b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines) + b".\r\n"


async def read(wire: bytes, pieces: list[int], after: bytes = b"", max_bytes: int = 10**6):
    reader = asyncio.StreamReader(limit=LIMIT)
    start = 0
    for size in pieces:
        reader.feed_data(wire[start : start + size])
        start += size
    reader.feed_data(wire[start:] + after)
    reader.feed_eof()  # a reader that misses the end fails instead of waiting
    message = await asyncio.wait_for(read_message(reader, max_bytes), 5)
    rest = (await reader.read()).decode()  # what the next command will read
    return message, rest


CASES = {
    "empty": [],
    "one line": [b"Subject: hi"],
    "a dot line first": [b".", b"after"],
    "only a dot line": [b"."],
    "dots at line starts": [b"Subject: dots", b"", b".leading", b"..two", b"...", b"middle.dot.", b"end."],
    "sentences": [b"One sentence.", b"Another one.", b"", b"Last."],
    "long lines": [b"x" * 300, b"." + b"y" * 200, b"z" * 65 + b".", b"w" * 63 + b"."],
    "base64": [bytes(random.Random(5).choice(b"ABCdef0123+/") for _ in range(76)) for _ in range(40)],
    "dot then CR LF inside a line": [b"a.\rb", b"c\r.d", b"\r", b"."],
}


@pytest.mark.parametrize("lines", CASES.values(), ids=CASES.keys())
async def test_every_split_of_the_stream_reads_the_same_message(lines):
    wire = on_the_wire(lines)
    for cut in range(len(wire) + 1):
        message, rest = await read(wire, [cut], after=b"QUIT\r\n")
        assert message == unstuffed(lines), cut
        assert rest == "QUIT\r\n", cut  # nothing past the end is taken


@pytest.mark.parametrize("seed", range(20))
async def test_random_pieces_read_the_same_message(seed):
    chance = random.Random(seed)
    lines = [
        chance.choice([b".", b"..", b"", b"text.", b".x", b"x" * chance.randrange(1, 150), b"a.\r"])
        for _ in range(chance.randrange(1, 60))
    ]
    wire = on_the_wire(lines)
    pieces = [chance.randrange(1, 9) for _ in range(len(wire) // 3)]
    message, rest = await read(wire, pieces, after=b"MAIL FROM:<a@b>\r\n")
    assert message == unstuffed(lines)
    assert rest == "MAIL FROM:<a@b>\r\n"


async def test_a_message_past_the_size_is_read_to_its_end_and_dropped():
    lines = [b"x" * 70] * 20
    message, rest = await read(on_the_wire(lines), [100, 7, 300], after=b"RSET\r\n", max_bytes=500)
    assert message is None
    assert rest == "RSET\r\n"
    message, _ = await read(on_the_wire(lines), [], max_bytes=len(unstuffed(lines)))
    assert message == unstuffed(lines)
