"""The API of webhooks: an inbox's webhooks, their delivery logs, and a test event.

Any member of the inbox's team manages its webhooks (as its fault rules);
inbox-scoped tokens only read. Re-enabling a disabled webhook is a PATCH
with `{"enabled": true}`, which also starts its failure count again.
"""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from inboxes.access import get_inbox
from webhooks.deliveries import deliver, queue_test
from webhooks.models import Webhook

from .webhook_serializers import DeliverySerializer, WebhookSerializer

DELIVERY_LIMIT = 100


def _webhook(request, inbox_id, webhook_id) -> Webhook:
    inbox = get_inbox(request.user, inbox_id, request.auth)
    webhook = inbox.webhooks.filter(pk=webhook_id).first()
    if webhook is None:
        raise Http404("No such webhook.")
    return webhook


class WebhookList(APIView):
    @extend_schema(responses=WebhookSerializer(many=True))
    def get(self, request, inbox_id):
        """The inbox's webhooks."""
        inbox = get_inbox(request.user, inbox_id, request.auth)
        return Response(WebhookSerializer(inbox.webhooks.all(), many=True).data)

    @extend_schema(request=WebhookSerializer, responses={201: WebhookSerializer})
    def post(self, request, inbox_id):
        """Add a webhook; the answer carries its signing `secret`."""
        inbox = get_inbox(request.user, inbox_id, request.auth)
        serializer = WebhookSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        webhook = serializer.save(inbox=inbox, created_by=request.user)
        return Response(WebhookSerializer(webhook).data, status=status.HTTP_201_CREATED)


class WebhookDetail(APIView):
    @extend_schema(responses=WebhookSerializer)
    def get(self, request, inbox_id, webhook_id):
        return Response(WebhookSerializer(_webhook(request, inbox_id, webhook_id)).data)

    @extend_schema(request=WebhookSerializer, responses=WebhookSerializer)
    def patch(self, request, inbox_id, webhook_id):
        """Change the URL or events, or enable/disable it (enabling starts the failure count again)."""
        webhook = _webhook(request, inbox_id, webhook_id)
        serializer = WebhookSerializer(webhook, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        turn_on = serializer.validated_data.pop("enabled", None)
        webhook = serializer.save()
        if turn_on is not None:
            webhook.set_enabled(turn_on)
        return Response(WebhookSerializer(webhook).data)

    @extend_schema(responses={204: None})
    def delete(self, request, inbox_id, webhook_id):
        _webhook(request, inbox_id, webhook_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookTest(APIView):
    @extend_schema(request=None, responses=DeliverySerializer)
    def post(self, request, inbox_id, webhook_id):
        """Send a test event now (one attempt, not retried, not counted towards disabling); its delivery."""
        delivery = deliver(queue_test(_webhook(request, inbox_id, webhook_id)))
        return Response(DeliverySerializer(delivery).data)


class WebhookDeliveries(APIView):
    @extend_schema(responses=DeliverySerializer(many=True))
    def get(self, request, inbox_id, webhook_id):
        """The webhook's deliveries, newest first (at most 100)."""
        webhook = _webhook(request, inbox_id, webhook_id)
        return Response(DeliverySerializer(webhook.deliveries.order_by("-id")[:DELIVERY_LIMIT], many=True).data)
