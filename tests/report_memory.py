"""The report on a 25 MB message in a child process capped with RLIMIT_AS: `python -m tests.report_memory`.

Prints {"size", "extra", "status", "limits"} as JSON: `extra` is the peak resident memory the report
added (bytes) while the cap makes anything beyond a few times the message a MemoryError.
"""

import json
import sys


def message(size: int) -> bytes:
    head = (
        b"From: Shop <orders@shop.maildog-tests.net>\r\nTo: ann@customer.maildog-tests.net\r\nSubject: Huge\r\n"
        b"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <huge@shop.maildog-tests.net>\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nHi {{ name }}\r\n"
        b'--b\r\nContent-Type: text/html\r\n\r\n<html><body>\r\n<p style="display:flex">Hi {{ name }}</p>\r\n'
    )
    line = b'<p><a href="http://localhost/x">x</a> <img src="http://example.com/a.png"> ' + b"y" * 40 + b"</p>\r\n"
    body = line * ((size - len(head)) // len(line))
    return head + body + b"</body></html>\r\n--b--\r\n"


def measure(size: int) -> dict:
    import gc
    import os
    import resource

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    from reports.models import InboxReportSettings
    from reports.service import build

    from .hostile import _status, reset_peak

    raw = message(size)
    gc.collect()
    # The cap protects the machine: past 4x the message size the child fails with MemoryError.
    resource.setrlimit(resource.RLIMIT_AS, (_status("VmSize") + 4 * len(raw) + 64 * 2**20,) * 2)
    before = reset_peak()
    report = build(raw, InboxReportSettings(inbox_id=0))
    after = _status("VmHWM")
    return {"size": len(raw), "extra": after - before, "status": report["status"], "limits": report["limits"],
            "checks": sorted({f["check"] for f in report["findings"]})}  # fmt: skip


if __name__ == "__main__":
    sys.stdout.write(json.dumps(measure(int(sys.argv[1]) if sys.argv[1:] else 25 * 10**6)) + "\n")
