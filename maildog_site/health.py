"""The web process's health endpoint: `GET /health/` answers whether the database is reachable.

It is a middleware placed first, so load balancers and platform probes reach it
the way they do: by IP address (a Host header outside ALLOWED_HOSTS) and over
plain HTTP inside the network (before any HTTPS redirect). It reveals nothing
but "ok" or "error".
"""

import logging

from django.db import DatabaseError, connections
from django.http import JsonResponse

log = logging.getLogger("maildog.health")

HEALTH_PATH = "/health/"


def database_status(alias: str = "default") -> str:
    """'ok' if a trivial query succeeds on the database, else 'error' (and the reason is logged)."""
    connection = connections[alias]
    try:
        # A long-running process must not probe with a connection the database
        # dropped; inside an atomic block, closing would break the caller's transaction.
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        log.warning("health: database unreachable: %s", exc)
        return "error"
    return "ok"


def health_response() -> JsonResponse:
    database = database_status()
    ok = database == "ok"
    response = JsonResponse({"status": "ok" if ok else "error", "database": database}, status=200 if ok else 503)
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    """Answers GET/HEAD /health/ before host validation and HTTPS redirects."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == HEALTH_PATH and request.method in ("GET", "HEAD"):
            return health_response()
        return self.get_response(request)
