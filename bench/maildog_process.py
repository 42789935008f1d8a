"""A throwaway Maildog for the benchmarks: a fresh data directory, its commands, and `runsmtp`.

The benchmarks measure Maildog as it runs in production, as separate processes
started through `manage.py`: each takes a new data directory (so SQLite, the
TLS certificates and the CA are new), migrates it, creates the inboxes it sends
to with `createinbox --json`, and starts `runsmtp` on free loopback ports.
DATABASE_URL / REDIS_URL in the caller's environment are passed through.
ROOT is the checkout the benchmarks run from (where manage.py is).
"""

import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(ROOT / "manage.py")]


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_environment(smtp_ports: str, **settings: str) -> tuple[str, dict[str, str]]:
    """A new data directory and the environment that points Maildog at it.

    `smtp_ports` is MAILDOG_SMTP_PORTS (e.g. "2525:starttls,4650:tls"); the listener
    binds to 127.0.0.1 only. `settings` are further variables (MAILDOG_..., LOG_LEVEL)
    that override the defaults here (LOG_LEVEL WARNING). The directory is left in
    place after the run, for inspection.
    """
    data_dir = tempfile.mkdtemp(prefix="maildog-bench-")
    env = dict(
        os.environ,
        SECRET_KEY="benchmark",
        MAILDOG_DATA_DIR=data_dir,
        MAILDOG_SMTP_PORTS=smtp_ports,
        MAILDOG_SMTP_BIND="127.0.0.1",
        LOG_LEVEL="WARNING",
    )
    env.update(settings)
    return data_dir, env


def ca_file(data_dir: str) -> str:
    """The CA certificate Maildog generates in its data directory (clients verify the listener with it)."""
    return str(Path(data_dir) / "tls" / "maildog-ca.pem")


def migrate(env: dict[str, str]) -> None:
    """`manage.py migrate`, quietly; raises CalledProcessError if it fails."""
    subprocess.run([*MANAGE, "migrate", "-v", "0"], env=env, check=True)


def create_inbox(env: dict[str, str], team: str, name: str) -> tuple[str, str]:
    """`manage.py createinbox --json` for a new team; the inbox's SMTP (username, password)."""
    created = subprocess.run(
        [*MANAGE, "createinbox", "--team", team, "--name", name, "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    inbox = json.loads(created.stdout)
    return inbox["username"], inbox["password"]


def start_smtp(env: dict[str, str], port: int, manage=MANAGE, **popen_options) -> subprocess.Popen:
    """Start `manage.py runsmtp` and return once it accepts connections on `port`.

    Its stdout is discarded (stderr, where it logs, is left to the terminal).
    `manage` is the command to run it with (manage.py, or a wrapper of it).
    `popen_options` go to subprocess.Popen (e.g. preexec_fn to cap the child).
    Exits the benchmark if the server dies or does not listen within 30 s.
    """
    server = subprocess.Popen([*manage, "runsmtp"], env=env, stdout=subprocess.DEVNULL, **popen_options)
    try:
        wait_for_port(port, server)
    except SystemExit:
        stop(server)
        raise
    return server


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    """Poll 127.0.0.1:`port` until it accepts; exits the benchmark if `process` ended or the time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"runsmtp exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("runsmtp did not start listening")


def stop(server: subprocess.Popen) -> None:
    """SIGTERM (runsmtp closes its listeners and lets open sessions finish), then wait for it to exit."""
    server.terminate()
    server.wait(60)


def machine_summary() -> str:
    """The machine the figures were measured on, e.g. `x86_64, 2 CPUs, Python 3.11.2`."""
    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def database_summary() -> str:
    """The database the run uses: DATABASE_URL's host and name (no credentials), or the embedded SQLite."""
    return os.environ.get("DATABASE_URL", "SQLite (embedded default)").split("@")[-1]
