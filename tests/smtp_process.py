"""`manage.py runsmtp` as a child process of the tests, against the test database, memory capped.

The memory-capped variant of `tests.processes` (whose environment it uses): it
reads the listening ports from the process's output and measures its memory.

Memory tests measure the child, never the test process: it runs under
`RLIMIT_AS`, so a regression fails with a MemoryError there instead of
exhausting the machine.
"""

import queue
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.processes import REPO, env_on_test_database


def read_status(pid: int) -> dict[str, int]:
    """The kB figures of /proc/<pid>/status (VmRSS, VmHWM, ...)."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            figures[name] = int(value.split()[0])
    return figures


def reset_peak(pid: int) -> None:
    """Start VmHWM (peak resident memory) again from the current figure."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _cap(address_space: int, files: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))

    return apply


@dataclass
class SMTPProcess:
    popen: subprocess.Popen
    ports: dict[str, int] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return "".join(self.lines)

    def memory(self) -> dict[str, int]:
        return read_status(self.pid)

    def terminate(self, timeout: float) -> int:
        """SIGTERM; the exit code (or SIGKILL and a failure if it does not exit in `timeout`)."""
        self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)
            raise AssertionError(f"runsmtp still running {timeout}s after SIGTERM:\n{self.output()}")

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(5)


def start_runsmtp(
    database_url: str,
    cert: Path,
    key: Path,
    *,
    memory_cap: int,
    files: int = 4096,
    ports: str = "0:starttls,0:tls",
    **settings,
) -> SMTPProcess:
    """Start runsmtp on free ports with the given MAILDOG_* settings; return once it listens."""
    env = env_on_test_database(
        database_url,
        MAILDOG_TLS_CERT=cert,
        MAILDOG_TLS_KEY=key,
        MAILDOG_SMTP_HOSTNAME="localhost",
        MAILDOG_AUTH_CHECKS=0,
        # One malloc arena per thread would reserve 64 MB of address space each.
        MALLOC_ARENA_MAX=2,
        **settings,
    )
    popen = subprocess.Popen(
        [sys.executable, "manage.py", "runsmtp", "--bind", "127.0.0.1", "--ports", ports],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_cap(memory_cap, files),
    )
    process = SMTPProcess(popen)
    lines: queue.Queue = queue.Queue()

    def pump():
        for line in popen.stdout:
            process.lines.append(line)
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=30)
            found = re.search(r"SMTP listening on 127\.0\.0\.1:(\d+) \((STARTTLS|TLS from the first byte)\)", line)
            if found:
                process.ports["starttls" if found.group(2) == "STARTTLS" else "tls"] = int(found.group(1))
            if len(process.ports) == len(ports.split(",")):
                return process
    except queue.Empty:
        process.kill()
        raise AssertionError("runsmtp did not start:\n" + process.output()) from None


def open_idle_connections(port: int, count: int, sources: list[str], *, first_line: bytes = b"") -> list[socket.socket]:
    """`count` TCP connections spread over the source addresses, each having sent `first_line`."""
    sockets = []
    for n in range(count):
        sock = socket.socket()
        sock.bind((sources[n % len(sources)], 0))
        sock.connect(("127.0.0.1", port))
        if first_line:
            sock.setblocking(False)
            try:
                sock.send(first_line)
            except BlockingIOError:
                pass  # the server stopped reading: what it does not read it does not hold
            sock.setblocking(True)
        sockets.append(sock)
    return sockets


def wait_until(condition, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
