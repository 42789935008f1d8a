"""ASGI entry point: HTTP through Django, websockets through Channels."""

import atexit
import os

from django.core.asgi import get_asgi_application
from django.db import connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maildog_site.settings")

# Build the Django app first: it sets up the app registry that routing imports need.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from inboxes.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)


def _close_pools():
    # DATABASE_POOL: hand the pooled connections back to the database server on the way out,
    # rather than leaving it to notice the closed sockets.
    for connection in connections.all():
        if connection.vendor == "postgresql" and connection.settings_dict["OPTIONS"].get("pool"):
            connection.close_pool()


atexit.register(_close_pools)
