"""Maildog, MailDev and a null aiosmtpd side by side, in one run: messages/s, ratios, p99.

The workload: SESSIONS concurrent sessions each sending PER_SESSION messages of
4 KB over TLS with AUTH, in two modes:

- reuse: one connection per session, logged in once, every message on it
  (Maildog and the null server: STARTTLS on the submission port; MailDev only
  has TLS from the first byte);
- new: a new connection, TLS handshake and AUTH for every message, as Django's
  `send_mail()` does by default (TLS from the first byte on all three).

The three servers:

- Maildog as the Procfile runs it: `manage.py runsmtp` beside `manage.py runchecks`
  (SPF/DKIM/DMARC on, against a loopback nameserver), `DEBUG` off, in a fresh data
  directory: SQLite, or the DATABASE_URL/REDIS_URL in the environment;
- MailDev 3, installed from the npm registry into a temporary folder by this
  script, with TLS + AUTH, persisting each message to a mail directory;
- a null aiosmtpd (STARTTLS or TLS + AUTH, stores nothing): the ceiling of
  the Python SMTP stack Maildog is built on.

All three use the certificate of Maildog's local CA, which the client verifies.
Each line printed is JSON; the last lines are the ratios. Latency is per
message, from MAIL FROM to the 250 after DATA (new mode: from connect to 250).

    python bench/compare.py                          # 8 sessions x 250 messages, both modes
    python bench/compare.py --only maildog --sessions 8 --per-session 12500 --modes reuse   # RSS over 100,000
    python bench/compare.py --only maildog --flood 300   # how far the checks fall behind, and catch up
"""

import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import maildog_process

sys.path.insert(0, str(maildog_process.ROOT))
from tests.dnsserver import LoopbackDNS  # noqa: E402

USER, PASSWORD = "bench", "bench-password-123"


def make_message(size: int = 4096) -> bytes:
    """A plain-text message of about `size` bytes, CRLF line endings, dot-safe."""
    head = (
        "From: App <app@example.com>\r\nTo: user@example.com\r\nSubject: Your order has shipped\r\n"
        "Date: Tue, 24 Nov 2026 12:00:00 +0000\r\nMessage-ID: <bench@example.com>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    line = "Thank you for your order. It is on its way and should arrive within three days.\r\n"
    body = line * ((size - len(head)) // len(line) + 1)
    return (head + body).encode()[:size].rsplit(b"\r\n", 1)[0] + b"\r\n"


MESSAGE = make_message()


# --- a small SMTP client (one per session; the same for every server) --------------------
class SMTPError(Exception):
    pass


class Client:
    def __init__(self, port: int, context: ssl.SSLContext, implicit_tls: bool, login: tuple[str, str] | None = None):
        self.port = port
        self.context = context
        self.implicit_tls = implicit_tls
        self.login = login

    async def reply(self, expect: int) -> bytes:
        while True:
            line = await self.reader.readline()
            if not line:
                raise SMTPError("connection closed")
            if line[3:4] != b"-":
                break
        if int(line[:3]) != expect:
            raise SMTPError(line.decode(errors="replace").strip())
        return line

    async def command(self, line: bytes, expect: int) -> bytes:
        self.writer.write(line + b"\r\n")
        return await self.reply(expect)

    async def open(self) -> None:
        ssl_arg = self.context if self.implicit_tls else None
        self.reader, self.writer = await asyncio.open_connection(
            "127.0.0.1", self.port, ssl=ssl_arg, server_hostname="localhost" if ssl_arg else None
        )
        await self.reply(220)
        await self.command(b"EHLO bench.example.com", 250)
        if not self.implicit_tls:
            await self.command(b"STARTTLS", 220)
            await self.writer.start_tls(self.context, server_hostname="localhost")
            await self.command(b"EHLO bench.example.com", 250)
        user, password = self.login or (USER, PASSWORD)
        token = base64.b64encode(f"\0{user}\0{password}".encode())
        await self.command(b"AUTH PLAIN " + token, 235)

    async def send(self, data: bytes) -> bytes:
        await self.command(b"MAIL FROM:<app@example.com>", 250)
        await self.command(b"RCPT TO:<user@example.com>", 250)
        await self.command(b"DATA", 354)
        self.writer.write(data + b".\r\n")
        return await self.reply(250)

    async def close(self) -> None:
        try:
            await self.command(b"QUIT", 221)
        except (SMTPError, ConnectionError):
            pass
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ssl.SSLError, ConnectionError):
            pass


async def reuse_session(port, context, implicit_tls, count, latencies, acks):
    client = Client(port, context, implicit_tls)
    await client.open()
    for _ in range(count):
        started = time.perf_counter()
        acks.append(await client.send(MESSAGE))
        latencies.append(time.perf_counter() - started)
    await client.close()


async def new_connection_session(port, context, implicit_tls, count, latencies, acks):
    for _ in range(count):
        started = time.perf_counter()
        client = Client(port, context, implicit_tls)
        await client.open()
        acks.append(await client.send(MESSAGE))
        latencies.append(time.perf_counter() - started)
        await client.close()


async def flood_session(port, context, stop_at, latencies, acks):
    client = Client(port, context, False)
    await client.open()
    while time.monotonic() < stop_at:
        started = time.perf_counter()
        acks.append(await client.send(MESSAGE))
        latencies.append(time.perf_counter() - started)
    await client.close()


def client_context(ca: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca)


def run_clients(mode, port, implicit_tls, ca, sessions, per_session) -> dict:
    import uvloop

    context = client_context(ca)
    latencies: list[float] = []
    acks: list[bytes] = []
    session = reuse_session if mode == "reuse" else new_connection_session

    async def run():
        await asyncio.gather(
            *(session(port, context, implicit_tls, per_session, latencies, acks) for _ in range(sessions))
        )

    started = time.perf_counter()
    uvloop.run(run())
    elapsed = time.perf_counter() - started
    return figures(latencies, elapsed)


def figures(latencies, elapsed) -> dict:
    latencies = sorted(latencies)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [latencies[0]] * 99
    return {
        "messages": len(latencies),
        "seconds": round(elapsed, 2),
        "messages_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(q[49] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
    }


# --- the servers --------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


class Maildog:
    name = "maildog"

    def __init__(self, dns_port: int, checks: str, smtp_processes: int = 1, manage=maildog_process.MANAGE):
        self.starttls_port = maildog_process.free_port()
        self.tls_port = maildog_process.free_port()
        self.data_dir, self.env = maildog_process.fresh_environment(
            f"{self.starttls_port}:starttls,{self.tls_port}:tls",
            DEBUG="0",
            MAILDOG_MAX_SESSIONS_PER_CLIENT="10000",
            MAILDOG_DNS_NAMESERVERS=f"127.0.0.1:{dns_port}",
            MAILDOG_AUTH_CHECKS="0" if checks == "off" else "1",
            MAILDOG_AUTH_CHECKS_PROCESS="1" if checks == "process" else "0",
            MAILDOG_SMTP_REUSE_PORT="1" if smtp_processes > 1 else "0",
        )
        self.smtp_processes = smtp_processes
        self.checks = checks
        self.manage = manage  # manage.py, or a wrapper (bench/index_cost.py runs Maildog without its search index)
        self.processes: list[subprocess.Popen] = []
        maildog_process.migrate(self.env)
        self.username, self.password = maildog_process.create_inbox(self.env, "Bench", "Bench")
        # The same login on every server: Maildog's is generated, the others take it as given.
        global USER, PASSWORD
        USER, PASSWORD = self.username, self.password

    @property
    def ca(self) -> str:
        return maildog_process.ca_file(self.data_dir)

    @property
    def cert_and_key(self) -> tuple[str, str]:
        tls = Path(self.data_dir) / "tls"
        return str(tls / "server.pem"), str(tls / "server-key.pem")

    def start(self):
        self.smtp = maildog_process.start_smtp(self.env, self.starttls_port, manage=self.manage)
        self.processes = [self.smtp]
        for _ in range(self.smtp_processes - 1):
            # The port already answers (the first process): wait for this one's own "SMTP listening" line.
            more = subprocess.Popen([*self.manage, "runsmtp"], env=self.env, stdout=subprocess.PIPE, text=True)
            self.processes.append(more)
            more.stdout.readline()

        if self.checks == "process":
            self.checker = subprocess.Popen(
                [*self.manage, "runchecks"], env=self.env, stdout=subprocess.PIPE, text=True
            )
            self.processes.append(self.checker)
            self.checker.stdout.readline()  # "Checks running ...": it looks for work from now on

    def ports(self):
        return {"reuse": (self.starttls_port, False), "new": (self.tls_port, True)}

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def rss(self) -> dict:
        names = [f"smtp{n + 1}" if self.smtp_processes > 1 else "smtp" for n in range(self.smtp_processes)] + ["checks"]
        return {f"{name}_peak_rss_mb": peak_rss_mb(p.pid) for name, p in zip(names, self.processes)}

    def checks_behind(self) -> dict:
        """After a run: how many messages the checks had left, and the seconds until none were (<= 120)."""
        if self.checks == "off":
            return {}
        query = backlog_query(self.env)
        started = time.monotonic()
        left, _ = count, _ = query()
        while count and time.monotonic() - started < 120:
            time.sleep(0.05)
            count, _ = query()
        result = {"checks_unchecked_at_end": left, "checks_caught_up_s": round(time.monotonic() - started, 2)}
        if self.env.get("DATABASE_URL"):
            # PostgreSQL: the search words are written after the 250 too (inboxes.search.indexer).
            unindexed = backlog_query(self.env, where="search_vector IS NULL")
            waiting, _ = unindexed()
            while unindexed()[0] and time.monotonic() - started < 120:
                time.sleep(0.05)
            result.update(search_unindexed_at_end=waiting, search_indexed_s=round(time.monotonic() - started, 2))
        return result

    def stop(self):
        for process in reversed(self.processes):
            maildog_process.stop(process)


class MailDev:
    name = "maildev"

    def __init__(self, cert: str, key: str):
        self.port = maildog_process.free_port()
        self.folder = tempfile.mkdtemp(prefix="maildev-bench-")
        self.cert, self.key = cert, key
        npm = shutil.which("npm")
        if npm is None:
            sys.exit("npm is needed to install MailDev")
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--silent", "maildev@3"],
            cwd=self.folder,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        version = json.loads((Path(self.folder) / "node_modules/maildev/package.json").read_text())["version"]
        self.name = f"maildev {version}"

    def start(self):
        mail_dir = Path(self.folder) / "mail"
        mail_dir.mkdir()
        command = [
            str(Path(self.folder) / "node_modules/.bin/maildev"),
            "--smtp", str(self.port), "--ip", "127.0.0.1",
            "--incoming-user", USER, "--incoming-pass", PASSWORD,
            "--incoming-secure", "--incoming-cert", self.cert, "--incoming-key", self.key,
            "--mail-directory", str(mail_dir),
            "--disable-web", "--silent",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        maildog_process.wait_for_port(self.port, self.process)

    def ports(self):
        return {"reuse": (self.port, True), "new": (self.port, True)}

    def pids(self) -> list[int]:
        return [self.process.pid]

    def rss(self) -> dict:
        return {"peak_rss_mb": peak_rss_mb(self.process.pid)}

    def stop(self):
        self.process.terminate()
        self.process.wait(30)
        shutil.rmtree(self.folder, ignore_errors=True)


class NullServer:
    name = "null aiosmtpd"

    def __init__(self, cert: str, key: str):
        self.starttls_port = maildog_process.free_port()
        self.tls_port = maildog_process.free_port()
        self.cert, self.key = cert, key

    def start(self):
        command = [
            sys.executable,
            __file__,
            "--serve-null",
            str(self.starttls_port),
            str(self.tls_port),
            self.cert,
            self.key,
        ]
        self.process = subprocess.Popen(command)
        maildog_process.wait_for_port(self.starttls_port, self.process)

    def ports(self):
        return {"reuse": (self.starttls_port, False), "new": (self.tls_port, True)}

    def pids(self) -> list[int]:
        return [self.process.pid]

    def rss(self) -> dict:
        return {"peak_rss_mb": peak_rss_mb(self.process.pid)}

    def stop(self):
        self.process.send_signal(signal.SIGINT)
        self.process.wait(30)


def serve_null(starttls_port: int, tls_port: int, cert: str, key: str) -> None:
    """aiosmtpd that says 250 to every message and stores nothing (STARTTLS and TLS, AUTH required)."""
    import logging
    import warnings

    import uvloop
    from aiosmtpd.smtp import SMTP, AuthResult

    logging.getLogger("mail.log").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            return "250 2.0.0 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=True)

    async def main():
        loop = asyncio.get_running_loop()
        handler = Handler()

        def protocol(tls):
            return SMTP(
                handler,
                hostname="localhost",
                tls_context=None if tls else context,
                require_starttls=not tls,
                auth_required=True,
                auth_require_tls=not tls,
                authenticator=authenticator,
                decode_data=False,
                loop=loop,
            )

        await loop.create_server(lambda: protocol(False), "127.0.0.1", starttls_port)
        await loop.create_server(lambda: protocol(True), "127.0.0.1", tls_port, ssl=context)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGINT, stop.set)
        await stop.wait()

    uvloop.run(main())


# --- the checks under a flood --------------------------------------------------------------
def backlog_query(env, where="deliverability_checked_at IS NULL"):
    """A function returning (unchecked messages, age in seconds of the oldest unchecked one), or others `where` says."""
    sql = f"SELECT count(*), min(received_at) FROM inboxes_message WHERE {where}"
    lock = threading.Lock()
    url = env.get("DATABASE_URL")
    if url:
        import psycopg

        conn = psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True)
    else:
        path = Path(env["MAILDOG_DATA_DIR"]) / "maildog.sqlite3"
        conn = sqlite3.connect(path, timeout=20, check_same_thread=False)

    def query():
        with lock:
            count, oldest = conn.execute(sql).fetchone()
        if not oldest:
            return count, 0.0
        if isinstance(oldest, str):  # SQLite: naive UTC text
            oldest = datetime.fromisoformat(oldest).replace(tzinfo=timezone.utc)
        return count, time.time() - oldest.timestamp()

    return query


def run_flood(maildog: Maildog, seconds: float, sessions: int) -> dict:
    """Send as fast as the sessions go for `seconds`, sample the checks' backlog, then time the catch-up."""
    import uvloop

    query = backlog_query(maildog.env)
    # PostgreSQL: the search words are written after the 250 too (inboxes.search.indexer).
    unindexed = backlog_query(maildog.env, where="search_vector IS NULL") if maildog.env.get("DATABASE_URL") else None
    samples: list[tuple[float, int, float]] = []
    unindexed_samples: list[tuple[int, float]] = []
    done = threading.Event()
    started = time.monotonic()

    def sample():
        while not done.is_set():
            count, age = query()
            samples.append((time.monotonic() - started, count, age))
            if unindexed is not None:
                unindexed_samples.append(unindexed())
            done.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    context = client_context(maildog.ca)
    latencies: list[float] = []
    acks: list[bytes] = []
    stop_at = time.monotonic() + seconds

    async def run():
        await asyncio.gather(
            *(flood_session(maildog.starttls_port, context, stop_at, latencies, acks) for _ in range(sessions))
        )

    uvloop.run(run())
    flood_end = time.monotonic()
    during = [s for s in samples if s[0] <= flood_end - started]
    while True:
        count, _ = query()
        if count == 0 or time.monotonic() - flood_end > 600:
            break
        time.sleep(0.1)
    caught_up = time.monotonic() - flood_end
    done.set()
    sampler.join()
    result = figures(latencies, flood_end - started)
    result.update(
        mode="flood",
        max_unchecked_messages=max((s[1] for s in during), default=0),
        max_unchecked_age_s=round(max((s[2] for s in during), default=0.0), 1),
        catch_up_s=round(caught_up, 1),
        unchecked_after=count,
    )
    if unindexed is not None:
        result.update(
            max_unindexed_messages=max((s[0] for s in unindexed_samples), default=0),
            max_unindexed_age_s=round(max((s[1] for s in unindexed_samples), default=0.0), 1),
            unindexed_after=unindexed()[0],
        )
    return result


# --- the run ---------------------------------------------------------------------------------
def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=8, help="concurrent SMTP sessions (default 8)")
    parser.add_argument("--per-session", type=int, default=250, help="messages per session (default 250)")
    parser.add_argument("--new-per-session", type=int, default=50, help="messages per session in the new mode")
    parser.add_argument("--modes", default="reuse,new", help="reuse, new, or both (comma-separated)")
    parser.add_argument("--only", default="maildog,maildev,null", help="which servers (comma-separated)")
    parser.add_argument(
        "--checks",
        choices=("process", "inline", "off"),
        default="process",
        help="Maildog's checks: in a runchecks process (the Procfile, default), in runsmtp, or off",
    )
    parser.add_argument(
        "--smtp-processes",
        type=int,
        default=1,
        help="runsmtp processes sharing the ports (MAILDOG_SMTP_REUSE_PORT; default 1, as the Procfile runs it)",
    )
    parser.add_argument("--flood", type=float, default=0, help="instead: flood Maildog for this many seconds")
    parser.add_argument("--serve-null", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_null:
        starttls_port, tls_port, cert, key = args.serve_null
        serve_null(int(starttls_port), int(tls_port), cert, key)
        return

    dns = LoopbackDNS()
    dns.start()
    dns.add_txt("example.com", "v=spf1 ip4:127.0.0.1 -all")
    dns.add_txt("_dmarc.example.com", "v=DMARC1; p=none")
    only = args.only.split(",")
    maildog = Maildog(dns.port, args.checks, args.smtp_processes)
    cert, key = maildog.cert_and_key
    print(
        f"# {maildog_process.machine_summary()}, Maildog on {maildog_process.database_summary()}, "
        f"channel layer {'Redis' if os.environ.get('REDIS_URL') else 'in-memory'}, checks: {args.checks}"
    )
    if args.flood:
        maildog.start()
        try:
            print(json.dumps({"server": "maildog", **run_flood(maildog, args.flood, args.sessions), **maildog.rss()}))
        finally:
            maildog.stop()
            dns.stop()
        return

    servers = []
    if "maildog" in only:
        servers.append(maildog)
    if "maildev" in only:
        servers.append(MailDev(cert, key))
    if "null" in only:
        servers.append(NullServer(cert, key))
    print(f"# {args.sessions} sessions; reuse: {args.per_session} each, new: {args.new_per_session} each; 4 KB")
    rates: dict[tuple[str, str], float] = {}
    for server in servers:
        server.start()
        try:
            for mode in args.modes.split(","):
                port, implicit_tls = server.ports()[mode]
                per_session = args.per_session if mode == "reuse" else args.new_per_session
                before = {pid: cpu_seconds(pid) for pid in server.pids()}
                client_before = time.process_time()
                result = run_clients(mode, port, implicit_tls, maildog.ca, args.sessions, per_session)
                result["client_cpu_ms_per_message"] = round(
                    (time.process_time() - client_before) * 1000 / result["messages"], 2
                )
                result["server_cpu_ms_per_message"] = [
                    round((cpu_seconds(pid) - cpu) * 1000 / result["messages"], 2) for pid, cpu in before.items()
                ]
                if isinstance(server, Maildog):
                    result.update(server.checks_behind())  # the checks may lag a burst: how far, how long
                rates[(server.name, mode)] = result["messages_per_second"]
                print(json.dumps({"server": server.name, "mode": mode, **result, **server.rss()}), flush=True)
        finally:
            server.stop()
    dns.stop()
    peer = next((s.name for s in servers if s.name.startswith("maildev")), None)
    for mode in args.modes.split(","):
        if peer and (peer, mode) in rates:
            ratios = {name: round(rate / rates[(peer, mode)], 2) for (name, m), rate in rates.items() if m == mode}
            print(json.dumps({"ratios_vs": peer, "mode": mode, **ratios}))


if __name__ == "__main__":
    main()
