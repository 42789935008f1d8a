"""A 25 MB message through every step that holds it: peak and held memory per step, against the budget.

In a child process (capped with RLIMIT_AS) on the current database: receive
(DATA read into one buffer from a stream, as runsmtp does), summarize, store
(`inboxes.ingest.store_each`: summary, insert, commit), load the raw source
and open it (`inboxes.mime.read`). For each step it prints the peak resident
memory above what the process held before the step (VmHWM, reset before each
step) and what the step left held, in MB and in times the message size; then
the peak of the whole path (receive + store + open) over the figure before it,
against the budget of 3x. glibc's thresholds are fixed so that freed buffers
are returned at once and each step is charged what it allocates. Three rounds: memory that is returned or reused does
not grow from one round to the next.

SQLite in a fresh data directory by default; DATABASE_URL picks another
database (it must be empty or a Maildog database: the bench migrates it).

    python bench/large_message.py [--megabytes 25] [--rounds 3]
"""

import argparse
import asyncio
import gc
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUDGET = 3.0
MB = 1024 * 1024
CAP = 1024 * MB  # address space of the child


def status() -> dict[str, int]:
    figures = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            figures[name] = int(value.split()[0]) * 1024
    return figures


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def big_message(size: int) -> bytes:
    head = b"From: app@example.com\r\nTo: a@example.com\r\nSubject: big\r\nContent-Type: text/plain\r\n\r\n"
    line = b"0123456789" * 7 + b"abcd\r\n"
    return head + line * ((size - len(head)) // len(line))


async def receive(wire: bytes, max_bytes: int) -> bytes:
    """DATA as runsmtp reads it: from a stream with a small line limit, in the pieces TCP delivers."""
    from smtpd.data import read_message

    reader = asyncio.StreamReader(limit=4096)

    async def sender():
        # What the transport hands over between two reads: the stream never holds much.
        view = memoryview(wire)
        for start in range(0, len(wire), 64 * 1024):
            reader.feed_data(view[start : start + 64 * 1024])
            while len(reader._buffer) > 64 * 1024:
                await asyncio.sleep(0)
        reader.feed_eof()

    feeding = asyncio.ensure_future(sender())
    message = await read_message(reader, max_bytes)
    await feeding
    return message


def child(megabytes: int, rounds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))
    os.environ.setdefault("MAILDOG_DATA_DIR", tempfile.mkdtemp(prefix="maildog-bench-"))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Team
    from inboxes.ingest import Incoming, SessionFacts, store_each
    from inboxes.mime import read, summarize
    from inboxes.models import Inbox
    from inboxes.raw_source import load_raw

    call_command("migrate", verbosity=0)
    team = Team.objects.create(name="Bench")
    inboxes = [Inbox.objects.create(team=team, name=f"Large {n}") for n in range(3)]
    inbox = inboxes[-1]  # an id above 1, as in any real installation
    facts = SessionFacts(mail_from="app@example.com", rcpt_tos=["a@example.com"])
    store_each([Incoming(inbox.pk, b"Subject: warm-up\r\n\r\nhi\r\n", facts)])
    size = megabytes * MB - 1024
    wire = big_message(size) + b".\r\n"  # no line starts with a dot: nothing to stuff
    size = len(wire) - 3
    print(
        f"{connection.vendor}: a {size / MB:.1f} MB message, {rounds} rounds;"
        " peak and held over the figure before each step"
    )

    highest = [0]

    def step(name: str, work):
        gc.collect()
        before = status()["VmRSS"]
        reset_peak()
        result = work()
        peak = status()["VmHWM"]
        highest[0] = max(highest[0], peak)
        gc.collect()
        held = status()["VmRSS"] - before
        peak -= before
        print(f"  {name:10s} peak {peak / MB:+7.1f} MB ({peak / size:4.2f}x)  held {held / MB:+7.1f} MB")
        return result

    # One event loop for the process, as in runsmtp (tearing one down per message would cost a copy of it).
    loop = asyncio.new_event_loop()
    worst = 0.0
    for round_number in range(1, rounds + 1):
        print(f"round {round_number}")
        gc.collect()
        start = status()["VmRSS"]
        highest[0] = 0
        raw = step("receive", lambda: loop.run_until_complete(receive(wire, settings.MAILDOG_MAX_MESSAGE_BYTES)))
        assert raw is not None and len(raw) == size
        step("summarize", lambda: summarize(raw) and None)
        stored = step("store", lambda: store_each([Incoming(inbox.pk, raw, facts)])[0])
        assert stored.pk is not None, stored
        raw = None  # the received bytes are let go once stored, as after a 250
        loaded = step("load", lambda: load_raw(stored.pk))
        assert len(loaded) == size
        step("open", lambda: read(loaded) and None)
        loaded = stored = None
        gc.collect()
        path_peak = highest[0] - start
        print(
            f"  the path   peak {path_peak / MB:+7.1f} MB ({path_peak / size:4.2f}x)  "
            f"held {(status()['VmRSS'] - start) / MB:+7.1f} MB after the round"
        )
        worst = max(worst, path_peak / size)
    print(
        f"receive + store + open peaked at {worst:.2f}x the message size over the figure before "
        f"(budget {BUDGET:.0f}x): {'within' if worst < BUDGET else 'OVER'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=25, help="message size in MB (25: the default maximum)")
    parser.add_argument("--rounds", type=int, default=3, help="messages, one after the other")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.megabytes, args.rounds)
        return
    command = [sys.executable, __file__, "--child", "--megabytes", str(args.megabytes), "--rounds", str(args.rounds)]
    # Fixed glibc thresholds: big buffers are mapped and unmapped, never kept in the heap after free, so
    # each step's peak counts what the step holds (not memory freed by the step before and reused).
    env = {
        **os.environ,
        "MALLOC_ARENA_MAX": "2",
        "MALLOC_MMAP_THRESHOLD_": "131072",
        "MALLOC_TRIM_THRESHOLD_": "131072",
    }
    sys.exit(subprocess.run(command, cwd=ROOT, env=env).returncode)


if __name__ == "__main__":
    main()
