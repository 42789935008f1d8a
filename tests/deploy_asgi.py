"""Test-only ASGI app for test_deploy_processes while the product's consumer is not in yet.

It serves the product's HTTP app unchanged and adds the smallest consumer of
the planned `/ws/inboxes/<id>/` route (team members only, one group per
inbox, the group's events as JSON text frames). The test uses the Procfile's
own `maildog_site.asgi:application` as soon as the product routes that path.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maildog_site.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.db import database_sync_to_async  # noqa: E402
from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from inboxes.events import inbox_group  # noqa: E402
from inboxes.models import Inbox  # noqa: E402


class InboxEvents(AsyncJsonWebsocketConsumer):
    async def connect(self):
        inbox_id = self.scope["url_route"]["kwargs"]["inbox_id"]
        user = self.scope["user"]
        allowed = user.is_authenticated and await database_sync_to_async(
            Inbox.objects.filter(pk=inbox_id, team__members=user).exists
        )()
        if not allowed:
            await self.close()
            return
        self.group = inbox_group(inbox_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def message_new(self, event):
        await self.send_json(event)


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([path("ws/inboxes/<int:inbox_id>/", InboxEvents.as_asgi())]))
        ),
    }
)
