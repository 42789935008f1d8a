from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/inboxes/<int:inbox_id>/", consumers.InboxConsumer.as_asgi()),
    path("ws/unread/", consumers.UnreadConsumer.as_asgi()),
]
