"""SpamAssassin's spamd for the tests, on a free loopback port, with local rules only (no network tests)."""

import asyncio
import os
import shutil
import subprocess
import time
from pathlib import Path

import aiospamc

from .processes import free_port

SPAMD = shutil.which("spamd") or "/usr/sbin/spamd"
START_TIMEOUT = 120.0


class Spamd:
    def __init__(self, workdir: Path):
        self.port = free_port()
        self.log = workdir / "spamd.log"
        command = [
            SPAMD,
            f"--listen=127.0.0.1:{self.port}",
            "--allowed-ips=127.0.0.1",
            "--local",  # no DNS blocklists, no Razor/Pyzor: this machine has no internet
            "--nouser-config",
            "--max-children=1",
            "--min-children=1",
            f"--pidfile={workdir / 'spamd.pid'}",
            "--syslog=stderr",
        ]
        if os.geteuid() == 0:
            command.append("--username=nobody")  # spamd will not scan as root
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(command, stdout=self._log_file, stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"spamd://127.0.0.1:{self.port}"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"spamd exited ({self.process.returncode}): {self.log.read_text()[-2000:]}")
            try:
                asyncio.run(aiospamc.ping(host="127.0.0.1", port=self.port, timeout=aiospamc.Timeout(total=2)))
                return
            except Exception:  # not listening yet
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"spamd did not answer within {START_TIMEOUT:g} s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log_file.close()


def start_spamd(workdir: Path) -> Spamd:
    if not os.path.exists(SPAMD):
        raise RuntimeError("the spam score tests need SpamAssassin's spamd (Debian: apt-get install spamassassin)")
    spamd = Spamd(workdir)
    spamd.wait_ready()
    return spamd
