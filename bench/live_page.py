"""Does an open inbox page keep up with a steady stream of mail?

Sends RATE messages per second (default 100) from SESSIONS reused STARTTLS
sessions (default 5), MESSAGES in all (default 1,000), while the inbox page is
open in Chromium (Playwright, Debian's /usr/bin/chromium). For every message it
takes the time of the `250 ... id=N` and, in the page, the time the websocket
brought `message.new` for N and the time the row `tr.message-row[data-id="N"]`
appeared (a MutationObserver). Prints, for each set-up, one JSON line:

- `socket_event_*`: the 250 to the event in a websocket client of the bench's own (in a
  process of its own), i.e. Maildog's share;
- `websocket_event_*`: the 250 to the page's websocket message event (Maildog, the browser's
  network side and the page's main thread getting to it);
- `event_to_row_*`: from that event to the row in the page (live.js's share);
- `row_*` and `rows_shown`: the 250 to the row, and how many of the acknowledged rows appeared;
- `main_thread_s`: seconds the page's main thread was busy during the run (all tasks; script,
  layout, style among them), `long_tasks` over 50 ms, `catch_up_fetches` the page made;
- `cpu_s`: CPU seconds during the run per process (Chromium's by type, Maildog's by Procfile line),
  which load from other work on the machine does not inflate.

The set-ups:

- `embedded`: `manage.py serve` (web and SMTP in one process, SQLite, in-memory layer);
- `procfile`: the Procfile's `web`, `smtp` and `checks` as separate processes on the
  PostgreSQL and Redis of DATABASE_URL / REDIS_URL (a new database next to
  DATABASE_URL's, dropped afterwards, and a Redis prefix of its own).

    python bench/live_page.py                        # both set-ups
    python bench/live_page.py --setups embedded --messages 300
    python bench/live_page.py --setups embedded --trace /tmp/trace --raw /tmp/times  # Chromium trace, every time
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import shlex
import ssl
import statistics
import subprocess
import sys
import time
import uuid

import maildog_process
from compare import Client, make_message

from tests.dnsserver import LoopbackDNS

EMAIL, PASSWORD = "bench@example.com", "a long benchmark password 123"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

# In the page, before its own scripts: the time each row appears and each message.new arrives.
PAGE_PROBE = """
window.__rows = {}; window.__events = {}; window.__longTasks = [];
try {
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
  }).observe({ type: 'longtask' });
} catch (e) {}
const now = () => performance.timeOrigin + performance.now();
new MutationObserver((records) => {
  const t = now();
  for (const record of records) for (const node of record.addedNodes) {
    if (node.nodeType === 1 && node.matches('tr.message-row[data-id]') && !(node.dataset.id in window.__rows))
      window.__rows[node.dataset.id] = t;
  }
}).observe(document, { childList: true, subtree: true });
const Native = window.WebSocket;
window.WebSocket = function (url, protocols) {
  const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
  ws.addEventListener('message', (event) => {
    const t = now();
    try {
      const data = JSON.parse(event.data);
      if (data.type === 'message.new' && !(data.message.id in window.__events)) window.__events[data.message.id] = t;
    } catch (e) {}
  });
  return ws;
};
window.WebSocket.prototype = Native.prototype;
Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
"""

MEMBER_SCRIPT = """
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from accounts.models import Membership
from inboxes.models import Inbox
inbox = Inbox.objects.get(name="Live")
user = get_user_model().objects.create_user(username={email!r}, email={email!r}, password={password!r})
EmailAddress.objects.create(user=user, email={email!r}, primary=True, verified=True)
Membership.objects.create(team=inbox.team, user=user, role=Membership.Role.MEMBER)
print(inbox.pk)
"""


class Setup:
    def __init__(self, name: str, nameserver: str):
        self.name = name
        self.http_port = maildog_process.free_port()
        self.smtp_port = maildog_process.free_port()
        self.processes: list[subprocess.Popen] = []
        self.database = None
        settings = dict(
            DEBUG="0",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_SSL_REDIRECT="0",
            SESSION_COOKIE_SECURE="0",
            CSRF_COOKIE_SECURE="0",
            MAILDOG_AUTH_CHECKS="1",
            MAILDOG_DNS_NAMESERVERS=nameserver,  # checks on, against a loopback nameserver
            MAILDOG_MAX_SESSIONS_PER_CLIENT="1000",
        )
        if name == "procfile":
            base = os.environ.get("DATABASE_URL", "")
            if not base.startswith("postgres") or not os.environ.get("REDIS_URL"):
                sys.exit("the procfile set-up needs DATABASE_URL (PostgreSQL) and REDIS_URL")
            self.admin_url, self.database = base.rsplit("/", 1)[0], f"maildog_live_bench_{os.getpid()}"
            self._sql(f"CREATE DATABASE {self.database}")
            settings.update(
                DATABASE_URL=f"{self.admin_url}/{self.database}",
                MAILDOG_REDIS_PREFIX=f"live-bench-{uuid.uuid4().hex[:8]}",
                PORT=str(self.http_port),
            )
        else:
            settings.update(DATABASE_URL="", REDIS_URL="")
        self.data_dir, self.env = maildog_process.fresh_environment(f"{self.smtp_port}:starttls", **settings)
        for key in ("DATABASE_URL", "REDIS_URL"):
            if not self.env.get(key):
                self.env.pop(key, None)
        self.env["STATIC_ROOT"] = os.path.join(self.data_dir, "static")

    def _sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url.replace("postgres://", "postgresql://", 1) + "/postgres") as conn:
            conn.autocommit = True
            conn.execute(statement)

    def prepare(self) -> int:
        maildog_process.migrate(self.env)
        subprocess.run([*maildog_process.MANAGE, "collectstatic", "--noinput", "-v", "0"], env=self.env, check=True)
        self.username, self.password = maildog_process.create_inbox(self.env, "Live", "Live")
        script = MEMBER_SCRIPT.format(email=EMAIL, password=PASSWORD)
        created = subprocess.run(
            [*maildog_process.MANAGE, "shell", "-c", script], env=self.env, check=True, capture_output=True, text=True
        )
        return int(created.stdout.strip().splitlines()[-1])

    def start(self) -> None:
        if self.name == "embedded":
            command = [*maildog_process.MANAGE, "serve", "--http-port", str(self.http_port)]
            self.processes.append(subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL))
        else:
            from tests.processes import procfile

            lines = procfile()
            for name in ("web", "smtp", "checks"):
                # "VAR=value ... command args": the assignments go to the environment, $PORT is expanded.
                words = shlex.split(lines[name].replace("$PORT", str(self.http_port)))
                env = dict(self.env)
                while "=" in words[0]:
                    key, _, value = words.pop(0).partition("=")
                    env[key] = value
                if words[0] == "python":
                    words[0] = sys.executable
                elif words[0] == "daphne":
                    words[0:1] = [sys.executable, "-m", "daphne"]
                self.processes.append(
                    subprocess.Popen(words, env=env, cwd=maildog_process.ROOT, stdout=subprocess.DEVNULL)
                )
        for port in (self.smtp_port, self.http_port):
            for process in self.processes:
                if process.poll() is not None:
                    sys.exit(f"a process exited with {process.returncode}")
            maildog_process.wait_for_port(port, self.processes[0])

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds so far of Maildog's processes (user + system), by process."""
        names = ["serve"] if self.name == "embedded" else ["web", "smtp", "checks"]
        ticks = os.sysconf("SC_CLK_TCK")
        seconds = {}
        for name, process in zip(names, self.processes):
            with open(f"/proc/{process.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            seconds[name] = (int(fields[11]) + int(fields[12])) / ticks
        return seconds

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.database:
            self._sql(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")


async def send_steadily(port, context, login, messages, sessions, rate) -> dict[int, float]:
    """`messages` at `rate` per second in all, over `sessions` reused sessions; {id: time of its 250}."""
    acknowledged: dict[int, float] = {}
    started = time.time() + 0.5
    body = make_message(2048)

    async def session(number):
        client = Client(port, context, False, login)
        await client.open()
        for k in range(number, messages, sessions):
            delay = started + k / rate - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            reply = await client.send(body)
            acknowledged[int(re.search(rb"id=(\d+)", reply).group(1))] = time.time() * 1000
        await client.close()

    await asyncio.gather(*(session(n) for n in range(sessions)))
    return acknowledged


async def listen(base, inbox_id, cookies, received: dict[int, float], stop) -> None:
    """A websocket client of our own on the inbox (as the page's, without a browser): {id: arrival}."""
    import websockets

    cookie = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
    url = base.replace("http://", "ws://") + f"/ws/inboxes/{inbox_id}/"
    async with websockets.connect(url, additional_headers={"Cookie": cookie, "Origin": base}) as socket:
        stop_waiting = asyncio.get_running_loop().run_in_executor(None, stop.wait)
        while not stop_waiting.done():
            frames = asyncio.ensure_future(socket.recv())
            await asyncio.wait({frames, stop_waiting}, return_when=asyncio.FIRST_COMPLETED)
            if not frames.done():
                frames.cancel()
                break
            data = json.loads(frames.result())
            if data.get("type") == "message.new":
                received.setdefault(data["message"]["id"], time.time() * 1000)


def listen_in_process(base, inbox_id, cookies, ready, stop, results) -> None:
    """`listen` in a process of its own: the bench's mail sending does not delay its clock."""
    received: dict[int, float] = {}

    async def run():
        task = asyncio.ensure_future(listen(base, inbox_id, cookies, received, stop))
        await asyncio.sleep(0.5)
        ready.set()
        await task

    asyncio.run(run())
    results.put(received)


def percentile(values, p) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


async def measure(setup: Setup, inbox_id: int, args) -> dict:
    from playwright.async_api import async_playwright

    context = ssl.create_default_context(cafile=maildog_process.ca_file(setup.data_dir))
    base = f"http://127.0.0.1:{setup.http_port}"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = await browser.new_page()
        await page.goto(base + "/accounts/login/")
        await page.fill("input[name=login]", EMAIL)
        await page.fill("input[name=password]", PASSWORD)
        await page.click("form button[type=submit]")
        await page.wait_for_url(re.compile(r".*/(inboxes/)?$"))
        await page.add_init_script(PAGE_PROBE)
        cdp = await page.context.new_cdp_session(page)
        catch_ups = []
        page.on("request", lambda request: "/messages/after/" in request.url and catch_ups.append(request.url))
        await cdp.send("Performance.enable")
        await page.goto(f"{base}/inboxes/{inbox_id}/")
        await page.wait_for_function("document.getElementById('live-status').textContent.includes('Live')")
        before = await main_thread(cdp)
        browser_cdp = await browser.new_browser_cdp_session()
        cpu_before = {**await browser_cpu(browser_cdp), **setup.cpu_seconds()}
        catch_ups.clear()
        if args.trace:
            await browser.start_tracing(page=page, path=f"{args.trace}-{setup.name}.json", categories=TRACE_CATEGORIES)
        cookies = await page.context.cookies()
        spawn = multiprocessing.get_context("spawn")
        ready, stop, results = spawn.Event(), spawn.Event(), spawn.Queue()
        listener = spawn.Process(target=listen_in_process, args=(base, inbox_id, cookies, ready, stop, results))
        listener.start()
        await asyncio.get_running_loop().run_in_executor(None, ready.wait, 30)
        await asyncio.sleep(1.0)
        acknowledged = await send_steadily(
            setup.smtp_port, context, (setup.username, setup.password), args.messages, args.sessions, args.rate
        )
        deadline = time.monotonic() + args.wait
        while time.monotonic() < deadline:
            shown = await page.evaluate("Object.keys(window.__rows).length")
            if shown >= len(acknowledged):
                break
            await asyncio.sleep(0.2)
        stop.set()
        socket_events = await asyncio.get_running_loop().run_in_executor(None, results.get, True, 30)
        listener.join()
        after = await main_thread(cdp)
        cpu_after = {**await browser_cpu(browser_cdp), **setup.cpu_seconds()}
        if args.trace:
            await browser.stop_tracing()
        rows = await page.evaluate("window.__rows")
        events = await page.evaluate("window.__events")
        long_tasks = await page.evaluate("window.__longTasks")
        await browser.close()
    if args.raw:
        with open(f"{args.raw}-{setup.name}.json", "w") as raw:
            json.dump({"acknowledged": acknowledged, "socket": socket_events, "events": events, "rows": rows}, raw)
    socket_ms = sorted(socket_events[i] - t for i, t in acknowledged.items() if i in socket_events)
    row_ms = sorted(rows[str(i)] - t for i, t in acknowledged.items() if str(i) in rows)
    event_ms = sorted(events[str(i)] - t for i, t in acknowledged.items() if str(i) in events)
    # In the page: from the event's dispatch to its row (the script's own share).
    placed_ms = sorted(rows[str(i)] - events[str(i)] for i in acknowledged if str(i) in rows and str(i) in events)
    return {
        "setup": setup.name,
        "acknowledged": len(acknowledged),
        "socket_events": len(socket_ms),
        "socket_event_p50_ms": round(percentile(socket_ms, 50), 1),
        "socket_event_p99_ms": round(percentile(socket_ms, 99), 1),
        "websocket_events": len(event_ms),
        "websocket_event_p50_ms": round(percentile(event_ms, 50), 1),
        "websocket_event_p99_ms": round(percentile(event_ms, 99), 1),
        "event_to_row_p50_ms": round(percentile(placed_ms, 50), 1),
        "event_to_row_p99_ms": round(percentile(placed_ms, 99), 1),
        "row_p50_ms": round(percentile(row_ms, 50), 1),
        "row_p99_ms": round(percentile(row_ms, 99), 1),
        "rows_shown": len(row_ms),
        # The page's main thread during the run (seconds busy, by kind) and its tasks over 50 ms.
        "main_thread_s": {key: round(after[key] - before[key], 2) for key in after},
        # CPU seconds during the run, by process (load on the machine does not inflate these).
        "cpu_s": {key: round(cpu_after[key] - cpu_before.get(key, 0.0), 2) for key in cpu_after},
        "catch_up_fetches": len(catch_ups),
        "long_tasks": len(long_tasks),
        "longest_task_ms": round(max(long_tasks, default=0), 1),
    }


TRACE_CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "blink", "toplevel"]
MAIN_THREAD_METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


async def browser_cpu(cdp) -> dict[str, float]:
    """CPU seconds so far of the browser's processes, by type (renderer, gpu, browser, utility)."""
    info = await cdp.send("SystemInfo.getProcessInfo")
    totals: dict[str, float] = {}
    for process in info["processInfo"]:
        key = f"chromium-{process['type']}"
        totals[key] = totals.get(key, 0.0) + process["cpuTime"]
    return totals


async def main_thread(cdp) -> dict[str, float]:
    metrics = {m["name"]: m["value"] for m in (await cdp.send("Performance.getMetrics"))["metrics"]}
    return {name: metrics.get(name, 0.0) for name in MAIN_THREAD_METRICS}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setups", default="embedded,procfile", help="embedded, procfile, or both")
    parser.add_argument("--messages", type=int, default=1000, help="messages in all (default 1000)")
    parser.add_argument("--sessions", type=int, default=5, help="reused STARTTLS sessions (default 5)")
    parser.add_argument("--rate", type=float, default=100, help="messages per second in all (default 100)")
    parser.add_argument("--trace", help="write a Chromium trace of the run to TRACE-<setup>.json (chrome://tracing)")
    parser.add_argument("--raw", help="write every message's times to RAW-<setup>.json")
    parser.add_argument("--wait", type=float, default=15, help="seconds to wait for the last rows")
    args = parser.parse_args()
    print(
        f"# {maildog_process.machine_summary()}; {args.messages} messages at {args.rate:g}/s, {args.sessions} sessions"
    )
    dns = LoopbackDNS().start()
    dns.add_txt("example.com", "v=spf1 ip4:127.0.0.1 -all")
    try:
        for name in args.setups.split(","):
            setup = Setup(name, dns.nameserver)
            try:
                inbox_id = setup.prepare()
                setup.start()
                print(json.dumps(asyncio.run(measure(setup, inbox_id, args))), flush=True)
            finally:
                setup.stop()
    finally:
        dns.stop()


if __name__ == "__main__":
    main()
