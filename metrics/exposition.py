"""Where the metrics can be read: `/metrics` on the web process, a bind address of its own for the others.

- Web (`serve`, daphne): `GET /metrics` with `Authorization: Bearer <MAILDOG_METRICS_TOKEN>`,
  answered by a middleware before host validation (scrapers address the process
  by IP). Without the setting the endpoint does not exist (404): fail closed.
- SMTP (`runsmtp`) and other long-running commands: `MAILDOG_METRICS_ADDR`
  (`host:port`) starts prometheus_client's own HTTP server in a thread. It has
  no authentication: bind it to an address only the scraper reaches.
- Several processes of one kind: each has its own endpoint, or, with
  `PROMETHEUS_MULTIPROC_DIR` set for all of them, any one answers for all
  (prometheus_client's multiprocess mode).
"""

import hmac
import logging
import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, start_http_server

log = logging.getLogger("maildog.metrics")

METRICS_PATH = "/metrics"


def registry():
    """This process's metrics, or, in multiprocess mode, those of every process sharing the directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)
        return combined
    return REGISTRY


def _authorized(request) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        key.strip().encode(), settings.MAILDOG_METRICS_TOKEN.encode()
    )


def metrics_response(request) -> HttpResponse:
    if not _authorized(request):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    response = HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


class MetricsMiddleware:
    """Answers GET /metrics (token required) before host validation and HTTPS redirects; 404 without a token set."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == METRICS_PATH and settings.MAILDOG_METRICS_TOKEN and request.method in ("GET", "HEAD"):
            return metrics_response(request)
        return self.get_response(request)


def parse_address(value: str) -> tuple[str, int]:
    """`host:port` (or `[v6]:port`) as (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ImproperlyConfigured(f"MAILDOG_METRICS_ADDR={value!r} is not host:port (e.g. 127.0.0.1:9101).")
    return host.strip("[]"), int(port)


def serve_from_settings(stdout=None, setting: str = "MAILDOG_METRICS_ADDR"):
    """Start the metrics HTTP server of a non-web process when `setting` (an address) is set; returns it (or None)."""
    address = getattr(settings, setting)
    if not address:
        return None
    host, port = parse_address(address)
    server, _thread = start_http_server(port, addr=host, registry=registry())
    bound = server.server_address[1]
    message = f"Metrics on http://{address.rpartition(':')[0]}:{bound}/metrics"
    if stdout is not None:
        stdout.write(message)
    else:
        log.info(message)
    return server
