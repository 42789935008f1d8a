"""Running Maildog as separate OS processes, as a developer or a deployment does.

The one way the tests start Maildog's commands: `Process` (a long-running
process, output in a file, stopped with SIGTERM) and `run` (a one-off command).
`env_on_test_database` is the environment of a process on the test settings and the test
database; `production_env` the one of a production process. The fixtures
`maildog_server` and `maildog_processes` (tests/conftest.py) are built on these.
"""

import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx

REPO = Path(__file__).resolve().parent.parent
# Variables of the test run that must not leak into a "production" process.
_TEST_ONLY = (
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "REDIS_URL",
    "SSL_CERT_FILE",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "DEBUG",
    "MAILDOG_DATA_DIR",
    "ALLOWED_HOSTS",
    "SECRET_KEY",
    "PORT",
    "LOG_FORMAT",
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(settings_dict) -> str:
    """A Django database's settings (e.g. the test database's) as a DATABASE_URL for another process."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(settings_dict['NAME']).resolve()}"
    user, password = quote(settings_dict["USER"] or ""), quote(settings_dict["PASSWORD"] or "")
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    return f"postgres://{credentials}{settings_dict['HOST']}:{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"


def _with_venv_first(env: dict) -> dict:
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONUNBUFFERED"] = "1"
    return env


def env_on_test_database(database: str, **overrides) -> dict:
    """The environment of a Maildog process on the test settings, using `database` (a DATABASE_URL)."""
    env = _with_venv_first(dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings", DATABASE_URL=database))
    env.update({key: str(value) for key, value in overrides.items()})
    return env


def production_env(**overrides) -> dict:
    """The environment of a production process: maildog_site.settings, DEBUG off, our venv first on PATH."""
    env = {key: value for key, value in os.environ.items() if key not in _TEST_ONLY}
    env.update(DJANGO_SETTINGS_MODULE="maildog_site.settings", SECRET_KEY=secrets.token_urlsafe(50))
    _with_venv_first(env)
    env.update({key: str(value) for key, value in overrides.items()})
    return env


def procfile() -> dict[str, str]:
    """The Procfile's process types and their commands."""
    commands = {}
    for line in (REPO / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            commands[name.strip()] = command.strip()
    return commands


def manage(*args) -> str:
    """`manage.py ARGS` with the tests' Python, as one shell command (for `Process` and `run`)."""
    return shlex.join([sys.executable, "manage.py", *args])


class Process:
    """One process started the way a Procfile runner does (`sh -c`), its output in a file."""

    def __init__(self, name: str, command: str, env: dict, log_dir: Path, **popen_kwargs):
        self.name = name
        self.log_path = log_dir / f"{name}-{time.monotonic_ns()}.log"
        self._log = open(self.log_path, "wb")
        env, command = _split_assignments(command, env)
        # exec: the signal goes to the process itself, as with honcho or a platform's process manager.
        self.popen = subprocess.Popen(
            ["sh", "-c", "exec " + command],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            **popen_kwargs,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _wait(self, what: str, attempt, timeout: float, interval: float):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.popen.returncode}:\n{self.output()}")
            result = attempt()
            if result is not None:
                return result
            time.sleep(interval)
        raise AssertionError(f"{self.name}: {what} within {timeout}s:\n{self.output()}")

    def wait_http(self, url: str, timeout: float = 60.0, **kwargs) -> httpx.Response:
        """Poll `url` until it answers (any status); fail with the process's output if it never does."""

        def attempt():
            try:
                return httpx.get(url, timeout=5, **kwargs)
            except httpx.TransportError:
                return None

        return self._wait(f"no answer on {url}", attempt, timeout, 0.1)

    def wait_port(self, port: int, timeout: float = 60.0) -> None:
        def attempt():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return None

        self._wait(f"nothing listening on {port}", attempt, timeout, 0.05)

    def wait_output(self, pattern: str, timeout: float = 60.0) -> re.Match:
        """Wait until the output matches the regular expression `pattern`; return the first match."""
        return self._wait(f"no output matching {pattern!r}", lambda: re.search(pattern, self.output()), timeout, 0.05)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, as a process manager stops a process; SIGKILL only if it does not exit."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()
        return self.popen.returncode


def _split_assignments(command: str, env: dict) -> tuple[dict, str]:
    """`A=1 B=2 cmd args` -> (env with A and B, "cmd args"), as the shell would run it."""
    env = dict(env)
    words = command.split(" ")
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\S*", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    return env, " ".join(words)


def run(command: str, env: dict, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Run a one-off command (release phase, a management command) to completion."""
    env, command = _split_assignments(command, env)
    return subprocess.run(
        ["sh", "-c", "exec " + command], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
