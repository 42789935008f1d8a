"""SMTP throughput benchmark: messages/s and latency percentiles.

Starts `manage.py runsmtp` in a fresh data directory (SQLite by default, or the
DATABASE_URL/REDIS_URL in the environment), creates an inbox with `createinbox`,
then sends N messages over STARTTLS + AUTH from C concurrent sessions: once
reusing each connection, once with a new connection per message. Latency is
measured per message from MAIL FROM to the 250 after DATA (for new connections,
from connect to 250).

    python bench/smtp_throughput.py --messages 5000 --concurrency 20 --processes 1
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import ssl
import statistics
import time
from email.message import EmailMessage

import aiosmtplib
import maildog_process


def make_message():
    """A typical transactional email (text + HTML, ~3 KB), rendered once.

    Rendering MIME per message would make the Python client, not the server,
    the bottleneck on a 2-core machine.
    """
    message = EmailMessage()
    message["From"] = "bench@example.com"
    message["To"] = "sink@example.com"
    message["Subject"] = "Benchmark message"
    message.set_content("Hello from the benchmark.\n" * 20)
    message.add_alternative("<p>Hello from the <b>benchmark</b>.</p>" * 20, subtype="html")
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


MESSAGE = make_message()


async def session_reusing(port, ctx, creds, count, latencies):
    client = aiosmtplib.SMTP(hostname="localhost", port=port, start_tls=True, tls_context=ctx)
    await client.connect()
    await client.login(*creds)
    for n in range(count):
        started = time.perf_counter()
        await client.sendmail("bench@example.com", ["sink@example.com"], MESSAGE)
        latencies.append(time.perf_counter() - started)
    await client.quit()


async def session_per_message(port, ctx, creds, count, latencies):
    for n in range(count):
        started = time.perf_counter()
        client = aiosmtplib.SMTP(hostname="localhost", port=port, start_tls=True, tls_context=ctx)
        await client.connect()
        await client.login(*creds)
        await client.sendmail("bench@example.com", ["sink@example.com"], MESSAGE)
        await client.quit()
        latencies.append(time.perf_counter() - started)


def client_process(mode, port, ca, creds, sessions, per_session, queue):
    ctx = ssl.create_default_context(cafile=ca)
    latencies = []
    session = session_reusing if mode == "reuse" else session_per_message

    async def run():
        await asyncio.gather(*(session(port, ctx, creds, per_session, latencies) for _ in range(sessions)))

    asyncio.run(run())
    queue.put(latencies)


def run_mode(mode, port, ca, creds, messages, concurrency, processes):
    per_session = messages // concurrency
    sessions_per_process = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    queue = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=client_process, args=(mode, port, ca, creds, s, per_session, queue))
        for s in sessions_per_process
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    latencies = []
    for _ in workers:
        latencies.extend(queue.get())
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    return {
        "mode": mode,
        "messages": len(latencies),
        "seconds": round(elapsed, 2),
        "messages_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(q[49] * 1000, 1),
        "p95_ms": round(q[94] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000, help="messages per mode")
    parser.add_argument("--concurrency", type=int, default=20, help="concurrent SMTP sessions")
    parser.add_argument("--processes", type=int, default=1, help="client processes sharing the sessions")
    parser.add_argument("--modes", default="reuse,new", help="reuse, new, or both (comma-separated)")
    args = parser.parse_args()

    port = maildog_process.free_port()
    data_dir, env = maildog_process.fresh_environment(f"{port}:starttls", MAILDOG_MAX_SESSIONS_PER_CLIENT="10000")
    maildog_process.migrate(env)
    creds = maildog_process.create_inbox(env, "Bench", "Bench")
    server = maildog_process.start_smtp(env, port)
    try:
        ca = maildog_process.ca_file(data_dir)
        print(
            f"# {maildog_process.machine_summary()}, database {maildog_process.database_summary()}, "
            f"channel layer {'Redis' if os.environ.get('REDIS_URL') else 'in-memory'}"
        )
        print(f"# {args.messages} messages per mode, {args.concurrency} sessions, {args.processes} client processes")
        for mode in args.modes.split(","):
            print(json.dumps(run_mode(mode, port, ca, creds, args.messages, args.concurrency, args.processes)))
    finally:
        maildog_process.stop(server)


if __name__ == "__main__":
    main()
