"""The report on a 25 MB message stays within its budgets, in a child process capped with RLIMIT_AS."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_report_on_a_25_mb_message_is_bounded_in_memory_and_says_what_it_cut():
    done = subprocess.run(
        [sys.executable, "-m", "tests.report_memory", str(25 * 10**6)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result["status"] == "bounded"
    # Less than the message itself on top of it (the cap would fail the child past 4x).
    assert result["extra"] < result["size"]
    assert any("only its first 1,048,576 are shown" in cut for cut in result["limits"])
    assert any("more link-localhost findings left out" in cut for cut in result["limits"])
    # One mistake repeated on every line does not crowd out the others.
    assert {"template-variable", "compat-unsupported", "html-clipped", "message-large"} <= set(result["checks"])
