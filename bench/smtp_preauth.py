"""Memory of idle and slow SMTP connections that never log in, against a 64 KB budget each.

Starts `manage.py runsmtp` (uvloop, as in production, default limits) in a
fresh data directory, capped with RLIMIT_AS, and creates an inbox. For each
kind of connection below it opens N of them (default 1,000, the default
MAILDOG_MAX_SESSIONS) from 12 loopback source addresses (127.0.0.2-13, so the
per-client limit of 100 is respected), reads the server's resident memory
(VmRSS) before and with them open, and prints the difference per connection.
With them still open, a legitimate client (STARTTLS with certificate
verification, AUTH, one message) must get its 250. Then they are closed.

Kinds:
  idle          connected, sends nothing
  long-line     sent 256 KB without a line end (far past the command-line limit)
  slow-command  sent half an EHLO line
  starttls      EHLO, STARTTLS and the TLS handshake done, then idle
  tls-no-hello  connected to the implicit-TLS port, never sends a ClientHello

    python bench/smtp_preauth.py --connections 1000
"""

import argparse
import json
import re
import resource
import smtplib
import socket
import ssl
import time
from pathlib import Path

import maildog_process

BUDGET = 64 * 1024
SOURCES = [f"127.0.0.{n}" for n in range(2, 14)]
MEMORY_CAP = 2 * 1024**3


def rss(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024


def cap_child():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))


def connect(port, n):
    sock = socket.socket()
    sock.bind((SOURCES[n % len(SOURCES)], 0))
    sock.connect(("127.0.0.1", port))
    return sock


def read_line(sock):
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(1024)
        if not chunk:
            break
        data += chunk
    return data


def open_kind(kind, ports, count, ca):
    """`count` connections of `kind`; TLS ones are returned wrapped (kept alive by the list)."""
    context = ssl.create_default_context(cafile=ca)
    conns = []
    for n in range(count):
        if kind == "tls-no-hello":
            conns.append(connect(ports["tls"], n))
            continue
        sock = connect(ports["starttls"], n)
        if kind == "long-line":
            sock.setblocking(False)
            try:
                sock.send(b"X" * 256 * 1024)
            except BlockingIOError:
                pass  # what the server does not read, it does not hold
            sock.setblocking(True)
        elif kind == "slow-command":
            sock.send(b"EHLO slow.exam")
        elif kind == "starttls":
            read_line(sock)
            sock.send(b"EHLO bench.example\r\n")
            reply = b""
            while b"250 " not in reply:
                reply += read_line(sock)
            sock.send(b"STARTTLS\r\n")
            read_line(sock)
            sock = context.wrap_socket(sock, server_hostname="localhost")
        conns.append(sock)
    return conns


def legitimate_client(port, ca, creds):
    """One message over STARTTLS + AUTH with certificate verification; the reply, or the error."""
    try:
        with smtplib.SMTP("localhost", port, timeout=30) as client:
            client.starttls(context=ssl.create_default_context(cafile=ca))
            client.login(*creds)
            client.sendmail("app@example.com", ["user@example.com"], b"Subject: served?\r\n\r\nyes\r\n")
            return "250"
    except (smtplib.SMTPException, OSError) as error:
        return f"{type(error).__name__}: {error}"


def settle(pid, seconds=3.0):
    """Wait until the server's memory stops moving (it has read and handled what was sent)."""
    previous, deadline = rss(pid), time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.5)
        current = rss(pid)
        if abs(current - previous) < 64 * 1024:
            return current
        previous = current
    return rss(pid)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=1000, help="connections of each kind")
    parser.add_argument("--kinds", default="idle,long-line,slow-command,starttls,tls-no-hello")
    args = parser.parse_args()

    ports = {"starttls": maildog_process.free_port(), "tls": maildog_process.free_port()}
    data_dir, env = maildog_process.fresh_environment(
        f"{ports['starttls']}:starttls,{ports['tls']}:tls",
        MAILDOG_AUTH_CHECKS="0",
        # Long enough that nothing times out while a kind is measured.
        MAILDOG_SMTP_UNAUTH_TIMEOUT="120",
        MAILDOG_SMTP_TLS_HANDSHAKE_TIMEOUT="120",
    )
    maildog_process.migrate(env)
    creds = maildog_process.create_inbox(env, "Bench", "Bench")
    resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
    ca = maildog_process.ca_file(data_dir)
    print(
        f"# {maildog_process.machine_summary()}; "
        f"runsmtp (uvloop) with default session limits, RLIMIT_AS {MEMORY_CAP // 1024**2} MB, "
        f"a fresh process per kind"
    )
    print(
        f"# {args.connections} connections per kind from {len(SOURCES)} addresses; "
        f"budget {BUDGET // 1024} KB per connection"
    )
    for kind in args.kinds.split(","):
        # A fresh server per kind: memory freed by one kind would hide the next one's cost.
        # The listeners open in the order of MAILDOG_SMTP_PORTS: once the last one accepts, both do.
        server = maildog_process.start_smtp(env, ports["tls"], preexec_fn=cap_child)
        try:
            assert legitimate_client(ports["starttls"], ca, creds) == "250"  # warm up: code, TLS, database
            before = settle(server.pid)
            conns = open_kind(kind, ports, args.connections, ca)
            held = settle(server.pid)
            served = legitimate_client(ports["starttls"], ca, creds)
            per_connection = (held - before) / args.connections
            print(
                json.dumps(
                    {
                        "kind": kind,
                        "connections": args.connections,
                        "rss_before_mb": round(before / 1024**2, 1),
                        "rss_with_them_mb": round(held / 1024**2, 1),
                        "per_connection_kb": round(per_connection / 1024, 1),
                        "budget_ratio": round(per_connection / BUDGET, 2),
                        "legitimate_client": served,
                    }
                )
            )
            for conn in conns:
                conn.close()
        finally:
            maildog_process.stop(server)


if __name__ == "__main__":
    main()
