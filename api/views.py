"""API views: one per resource and action. The waiting endpoint lives in `wait.py`.

Every view reaches inboxes and messages through the access policy
(`inboxes.access`), which applies the token's reach (its user's teams, or its
one inbox) and answers 404 outside it; downloads go through `inboxes.downloads`.
"""

from django.db.models import Count
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from inboxes import mime
from inboxes.access import get_inbox, get_managed_inbox, get_message, visible_inboxes
from inboxes.downloads import download, eml_download
from inboxes.models import Message

from .filters import MessageFilters
from .pagination import OffsetPagination, keyset_page, page_response
from .serializers import CredentialsSerializer, InboxSerializer, MessageDetailSerializer, MessageSummarySerializer

FILTER_PARAMETERS = [
    OpenApiParameter(
        "q",
        str,
        description='A search query, as on the inbox page (docs/search.md): from:billing has:attachment "invoice".',
    ),
    OpenApiParameter("to", str, description="Recipient (envelope, To or Cc) contains these words, case-insensitive."),
    OpenApiParameter("from", str, description="Sender (envelope or From) contains these words, case-insensitive."),
    OpenApiParameter("subject", str, description="Subject contains these words, case-insensitive."),
    OpenApiParameter("text", str, description="The text body contains these words, case-insensitive."),
    OpenApiParameter("received_after", OpenApiTypes.DATETIME, description="Only messages received later."),
    OpenApiParameter("after_seq", int, description="Only messages with a higher inbox sequence number."),
    OpenApiParameter("after", int, description="Only messages received after the message with this id."),
    OpenApiParameter("limit", int, description="Messages per page (default 50, at most 500)."),
    OpenApiParameter(
        "before_seq", int, description="The page below this sequence number: what `next` carries (keyset pages)."
    ),
    OpenApiParameter("offset", int, description="Skip this many matches instead (older clients; slower deep down)."),
]


class InboxList(generics.ListAPIView):
    """The inboxes the token reaches (its one inbox for an inbox-scoped token)."""

    serializer_class = InboxSerializer

    def get_queryset(self):
        inboxes = visible_inboxes(self.request.user, self.request.auth)
        return inboxes.annotate(counted_messages=Count("messages")).order_by("team__name", "name", "pk")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "token": self.request.auth}


class InboxDetail(APIView):
    @extend_schema(responses=InboxSerializer)
    def get(self, request, inbox_id):
        """One inbox, with its SMTP settings (not for inbox-scoped tokens) and `last_seq`."""
        inbox = get_inbox(request.user, inbox_id, request.auth)
        return Response(InboxSerializer(inbox, context={"request": request, "token": request.auth}).data)


class InboxResetCredentials(APIView):
    @extend_schema(request=None, responses=CredentialsSerializer)
    def post(self, request, inbox_id):
        """New SMTP username and password for the inbox; the old ones stop working at once.

        Team owners and admins only.
        """
        inbox = get_managed_inbox(request.user, inbox_id, request.auth)
        inbox.reset_credentials()
        return Response({"username": inbox.smtp_username, "password": inbox.smtp_password})


class MessageList(generics.ListAPIView):
    """An inbox's messages, newest first, with optional search filters (all must match).

    Pages are keyset pages (`api.pagination`): follow `next`. With `offset`, the older offset pages.
    """

    serializer_class = MessageSummarySerializer
    pagination_class = OffsetPagination

    def get_queryset(self):
        inbox = get_inbox(self.request.user, self.kwargs["inbox_id"], self.request.auth)
        filters = MessageFilters.from_query(self.request.query_params)
        return filters.apply(Message.objects.all(), inbox.pk).newest_first()

    @extend_schema(parameters=FILTER_PARAMETERS)
    def get(self, request, *args, **kwargs):
        if "offset" in request.query_params:
            return super().get(request, *args, **kwargs)
        inbox = get_inbox(request.user, self.kwargs["inbox_id"], request.auth)
        search = MessageFilters.from_query(request.query_params).search(inbox.pk)
        messages, envelope = keyset_page(request, search)
        return page_response(envelope, self.get_serializer(messages, many=True).data)

    @extend_schema(operation_id="inboxes_messages_clear", request=None, responses={200: OpenApiTypes.OBJECT})
    def delete(self, request, inbox_id):
        """Delete every message of the inbox (clear it). Answers with the number deleted."""
        inbox = get_inbox(request.user, inbox_id, request.auth)
        _, per_model = Message.objects.filter(inbox=inbox).delete()
        return Response({"deleted": per_model.get(Message._meta.label, 0)})


class MessageDetail(APIView):
    @extend_schema(responses=MessageDetailSerializer)
    def get(self, request, inbox_id, message_id):
        """The whole message: headers, text, HTML, MIME parts, attachments, links, authentication results."""
        message = get_message(request.user, inbox_id, message_id, request.auth, with_raw=True)
        return Response(MessageDetailSerializer(message, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def delete(self, request, inbox_id, message_id):
        """Delete the message."""
        get_message(request.user, inbox_id, message_id, request.auth).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class MessageRaw(APIView):
    @extend_schema(responses={(200, "message/rfc822"): OpenApiTypes.BINARY})
    def get(self, request, inbox_id, message_id):
        """The raw source, byte for byte as received (an .eml file)."""
        return eml_download(get_message(request.user, inbox_id, message_id, request.auth, with_raw=True))


class MessageAttachment(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, inbox_id, message_id, index):
        """One attachment's decoded content; `index` as listed in the message's `attachments`."""
        message = get_message(request.user, inbox_id, message_id, request.auth, with_raw=True)
        found = mime.ParsedMessage(message.raw).attachment(index)
        if found is None:
            return Response({"detail": "No such attachment."}, status=status.HTTP_404_NOT_FOUND)
        attachment, content = found
        return download(content, attachment.filename or f"attachment-{index}", attachment.content_type)
