"""Waiting for a message: a request that blocks until a matching message arrives.

`GET /api/v1/inboxes/<id>/messages/wait/?to=…&subject=…&after_seq=…&timeout=30`

The view looks in the database once; if nothing matches it joins the inbox's
channel-layer group (the same `message.new` events the web pages get) and
sleeps until an event arrives, then looks again. Nothing polls: an idle wait
costs one channel on the layer and no queries. Answers 200 with the message
(the earliest match), or 408 when the timeout passes first.

It is an async view (served by daphne); DRF views are synchronous, so this one
authenticates, authorizes and throttles with the same helpers itself. Behind
synchronous middleware (WhiteNoise) Django runs it from the request's worker
thread, so a wait keeps that thread idle until it answers: the rate limit and
the timeout cap (MAX_TIMEOUT) bound how many there can be.
"""

import asyncio

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header

from inboxes.access import get_inbox
from inboxes.events import inbox_group
from inboxes.models import Message

from .authentication import ApiTokenAuthentication, authenticate_key
from .filters import MessageFilters
from .serializers import MessageDetailSerializer
from .throttling import ApiRateThrottle

DEFAULT_TIMEOUT = 30.0
MAX_TIMEOUT = 120.0


class WaitRequest:
    """A checked wait: who asks, for which inbox, with which filters and timeout."""

    def __init__(self, request, inbox_id):
        auth = authenticate_key(get_authorization_header(request))
        if auth is None:
            raise exceptions.NotAuthenticated()
        request.user, self.token = auth
        throttle = ApiRateThrottle()
        if not throttle.allow_request(request, None):
            raise exceptions.Throttled(throttle.wait())
        self.inbox = get_inbox(request.user, inbox_id, self.token)
        self.filters = MessageFilters.from_query(request.GET)
        self.timeout = _timeout(request.GET.get("timeout"))
        self.request = request

    def find(self):
        """The earliest matching message, serialized, or None."""
        messages = self.filters.apply(Message.objects.defer(None), self.inbox.pk)
        message = messages.order_by("seq").first()
        if message is None:
            return None
        return MessageDetailSerializer(message, context={"request": self.request}).data


def _timeout(value) -> float:
    if value in (None, ""):
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        raise exceptions.ValidationError({"timeout": "Expected a number of seconds."}) from None
    if not 0 <= seconds < float("inf"):
        raise exceptions.ValidationError({"timeout": "Expected a number of seconds."})
    return min(seconds, MAX_TIMEOUT)


def _error(exc: exceptions.APIException) -> JsonResponse:
    response = JsonResponse(
        exc.detail if isinstance(exc.detail, dict) else {"detail": exc.detail}, status=exc.status_code
    )
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response["WWW-Authenticate"] = ApiTokenAuthentication().authenticate_header(None)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        response["Retry-After"] = str(int(exc.wait) + 1)
    return response


async def _wait_for_event(waiting: WaitRequest):
    """Sleep on the inbox's group until a matching message is stored or the timeout passes."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    group = inbox_group(waiting.inbox.pk)
    await layer.group_add(group, channel)
    try:
        # A message stored between the first look and joining the group sent
        # its event to nobody: look once more now that events reach us.
        found = await sync_to_async(waiting.find)()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + waiting.timeout
        while found is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                event = await asyncio.wait_for(layer.receive(channel), remaining)
            except asyncio.TimeoutError:
                break
            if event.get("type") in ("message.new", "messages.new"):
                found = await sync_to_async(waiting.find)()
        return found
    finally:
        await layer.group_discard(group, channel)


async def wait_for_message(request, inbox_id):
    """Answer with the earliest message matching the filters, waiting up to `timeout` seconds for one."""
    if request.method != "GET":
        return JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405, headers={"Allow": "GET"})
    try:
        waiting = await sync_to_async(WaitRequest)(request, inbox_id)
        found = await sync_to_async(waiting.find)()
    except exceptions.APIException as exc:
        return _error(exc)
    except Http404:
        return JsonResponse({"detail": "Not found."}, status=404)
    if found is None and waiting.timeout > 0:
        found = await _wait_for_event(waiting)
    if found is None:
        return JsonResponse({"detail": f"No matching message arrived within {waiting.timeout:g} seconds."}, status=408)
    return JsonResponse(found)
