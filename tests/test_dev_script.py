"""scripts/dev and scripts/venv: install only when the lock files (or pyproject.toml) changed.

The scripts run for real in a copy of the repository's files whose .venv/bin/python is a stand-in
that records how it was called: what scripts/dev asks pip and Django to do is then visible, without
installing anything.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FAKE_PYTHON = """#!/bin/sh
echo "$*" >> "$FAKE_LOG"
case "$*" in
    *"pip install"*) [ -z "$FAKE_PIP_FAILS" ] || exit 1 ;;
esac
exit 0
"""


@pytest.fixture
def checkout(tmp_path):
    """A copy of the scripts and the files they read, with a stand-in .venv/bin/python."""
    (tmp_path / "scripts").mkdir()
    for name in ("scripts/dev", "scripts/venv"):
        shutil.copy2(ROOT / name, tmp_path / name)
    for name in ("requirements-build.txt", "requirements.txt", "requirements-dev.txt", "pyproject.toml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    return tmp_path


def run(checkout, script, *args, **env):
    """Run a script of the copy; the calls its .venv/bin/python received, one line each."""
    log = checkout / "calls.log"
    log.unlink(missing_ok=True)
    environment = {**os.environ, "FAKE_LOG": str(log), **env}
    result = subprocess.run(
        [str(checkout / script), *args], env=environment, capture_output=True, text=True, timeout=60
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


def installs(calls):
    return [call for call in calls if call.startswith("-m pip install")]


def test_dev_installs_once_then_only_when_a_lock_file_changes(checkout):
    result, calls = run(checkout, "scripts/dev")
    assert result.returncode == 0, result.stderr
    assert len(installs(calls)) == 3  # setuptools, the runtime lock, Maildog itself
    assert "-r requirements.txt" in installs(calls)[1]
    assert calls[-2:] == ["manage.py firstrun --migrate", "manage.py serve"]

    result, calls = run(checkout, "scripts/dev")
    assert result.returncode == 0, result.stderr
    assert installs(calls) == [] and calls == ["manage.py firstrun --migrate", "manage.py serve"]

    with (checkout / "requirements.txt").open("a") as lock:
        lock.write("# a new pin\n")
    _, calls = run(checkout, "scripts/dev")
    assert len(installs(calls)) == 3
    _, calls = run(checkout, "scripts/dev")
    assert installs(calls) == []

    with (checkout / "pyproject.toml").open("a") as project:
        project.write("# a new entry point\n")
    _, calls = run(checkout, "scripts/dev")
    assert len(installs(calls)) == 3


def test_each_lock_file_has_its_own_stamp(checkout):
    _, calls = run(checkout, "scripts/venv")
    assert len(installs(calls)) == 3
    _, calls = run(checkout, "scripts/venv", "dev")
    assert len(installs(calls)) == 3 and "-r requirements-dev.txt" in installs(calls)[1]
    # Alternating scripts/test (dev) and scripts/dev (runtime) installs nothing more.
    assert installs(run(checkout, "scripts/venv")[1]) == []
    assert installs(run(checkout, "scripts/venv", "dev")[1]) == []


def test_a_failed_install_is_tried_again_next_time(checkout):
    result, calls = run(checkout, "scripts/dev", FAKE_PIP_FAILS="1")
    assert result.returncode == 1 and "installing requirements-build.txt" not in result.stderr
    assert "installing requirements.txt into .venv failed" in result.stderr
    assert not any(call.startswith("manage.py") for call in calls)
    result, calls = run(checkout, "scripts/dev")
    assert result.returncode == 0 and len(installs(calls)) == 3
