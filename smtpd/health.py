"""The SMTP process's health endpoint: a tiny HTTP responder on the SMTP event loop.

`runsmtp` starts it when `MAILDOG_SMTP_HEALTH_PORT` is set. `GET /health`
answers 200 when every SMTP listener accepts connections and the database
answers a query, else 503, with JSON saying which part failed. During a
graceful shutdown the listeners are closed first, so load balancers see 503
and stop sending new sessions while the ones in flight finish.
"""

import asyncio
import json
import logging

from asgiref.sync import sync_to_async

from maildog_site.health import database_status

log = logging.getLogger("maildog.health")

REQUEST_TIMEOUT = 5.0
DATABASE_TIMEOUT = 5.0
MAX_REQUEST_BYTES = 8192
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


class SMTPHealthServer:
    """Answers `GET /health` (and HEAD) about one `SMTPService`."""

    def __init__(self, service, bind: str, port: int):
        self.service = service
        self.bind = bind
        self.port = port
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._answer, host=self.bind, port=self.port, limit=MAX_REQUEST_BYTES)
        self.port = self.server.sockets[0].getsockname()[1]
        log.info("smtp health check on http://%s:%s/health", self.bind, self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    async def status(self) -> tuple[int, dict]:
        listeners = [
            {"port": port, "mode": listener.mode, "serving": server.is_serving()}
            for (listener, port), server in zip(self.service.bound, self.service.servers)
        ]
        listeners_up = bool(listeners) and all(item["serving"] for item in listeners)
        try:
            database = await asyncio.wait_for(sync_to_async(database_status)(), DATABASE_TIMEOUT)
        except asyncio.TimeoutError:
            database = "timeout"
        ok = listeners_up and database == "ok"
        body = {
            "status": "ok" if ok else "error",
            "listeners": "ok" if listeners_up else "down",
            "database": database,
            "ports": listeners,
        }
        return (200 if ok else 503), body

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        method, path = self._request_line(head)
        if method is None:
            code, body = 400, {"status": "error", "error": "bad request"}
        elif path.split("?", 1)[0] not in ("/health", "/health/"):
            code, body = 404, {"status": "error", "error": "not found"}
        elif method not in ("GET", "HEAD"):
            code, body = 405, {"status": "error", "error": "method not allowed"}
        else:
            code, body = await self.status()
        payload = json.dumps(body).encode()
        writer.write(
            f"HTTP/1.1 {code} {REASONS[code]}\r\n"
            f"Content-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n"
            f"Cache-Control: no-store\r\n"
            f"Connection: close\r\n\r\n".encode()
        )
        if method != "HEAD":
            writer.write(payload)
        try:
            await writer.drain()
        except ConnectionError:
            pass  # the prober went away; nothing to tell it
        finally:
            writer.close()

    @staticmethod
    def _request_line(head: bytes) -> tuple[str | None, str]:
        parts = head.split(b"\r\n", 1)[0].decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return None, ""
        return parts[0], parts[1]
