"""JSON shapes of the API: inboxes, message summaries and full messages."""

from dataclasses import asdict

from django.urls import reverse
from rest_framework import serializers

from inboxes import mime
from inboxes.integration import smtp_settings
from inboxes.models import Inbox, Message
from inboxes.summaries import message_summary
from reports.models import Report


def _absolute(serializer, path):
    request = serializer.context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


class TeamSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SmtpSettingsSerializer(serializers.Serializer):
    host = serializers.CharField()
    port = serializers.IntegerField()
    starttls_ports = serializers.ListField(child=serializers.IntegerField())
    tls_ports = serializers.ListField(child=serializers.IntegerField())
    username = serializers.CharField()
    password = serializers.CharField()


class InboxSerializer(serializers.ModelSerializer):
    team = TeamSerializer(read_only=True)
    message_count = serializers.SerializerMethodField()
    smtp = serializers.SerializerMethodField(
        help_text="Where and how an application sends into this inbox; null for inbox-scoped tokens."
    )
    messages_url = serializers.SerializerMethodField()

    class Meta:
        model = Inbox
        fields = ["id", "name", "team", "created", "last_seq", "max_messages", "message_count", "smtp", "messages_url"]

    def get_message_count(self, inbox) -> int:
        # Lists annotate the count (one query for all inboxes); a single inbox counts its own.
        counted = getattr(inbox, "counted_messages", None)
        return counted if counted is not None else inbox.messages.count()

    def get_smtp(self, inbox) -> SmtpSettingsSerializer(allow_null=True):
        token = self.context.get("token")
        if token is not None and token.inbox_id is not None:
            return None
        return smtp_settings(inbox)

    def get_messages_url(self, inbox) -> str:
        return _absolute(self, reverse("api:message-list", args=[inbox.pk]))


class MessageSummarySerializer(serializers.ModelSerializer):
    """What a message list shows; `seq` numbers an inbox's messages in arrival order."""

    # "from" is a Python keyword, so the field is declared through the namespace.
    locals()["from"] = serializers.CharField(source="from_header")
    to = serializers.CharField(source="to_header")
    cc = serializers.CharField(source="cc_header")
    # The API's name since 0.1 (the model field is Message.deliverability_verdict): kept for existing clients.
    auth_verdict = serializers.CharField(source="deliverability_verdict")
    url = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "inbox_id",
            "seq",
            "received_at",
            "subject",
            "from",
            "to",
            "cc",
            "envelope_from",
            "envelope_to",
            "size",
            "has_attachments",
            "is_read",
            "auth_verdict",
            "url",
        ]

    def get_url(self, message) -> str:
        return _absolute(self, reverse("api:message-detail", args=[message.inbox_id, message.pk]))

    def to_representation(self, message):
        # The fields above describe the schema; the shared fields' values are the one
        # summary that live events send too (`inboxes.summaries`).
        data = super().to_representation(message)
        data.update(message_summary(message))
        data["url"] = self.get_url(message)
        return data


class HeaderSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.CharField()


class PartSerializer(serializers.Serializer):
    """One MIME part; `path` places it in the tree ("1.2": second child of the first part; "" is the root)."""

    path = serializers.CharField()
    depth = serializers.IntegerField()
    content_type = serializers.CharField()
    charset = serializers.CharField()
    encoding = serializers.CharField(help_text="Content-Transfer-Encoding")
    disposition = serializers.CharField()
    filename = serializers.CharField()
    content_id = serializers.CharField()
    size = serializers.IntegerField(
        help_text="Decoded size in bytes (containers: sum of their parts); -1 if reading stopped before measuring it."
    )


class AttachmentSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    path = serializers.CharField()
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    content_id = serializers.CharField()
    disposition = serializers.CharField()
    url = serializers.CharField(help_text="Download of the decoded content.")


class LinkSerializer(serializers.Serializer):
    href = serializers.CharField()
    text = serializers.CharField(help_text="The anchor's text (HTML links); empty for URLs found in the text body.")
    source = serializers.ChoiceField(choices=["html", "text"])


class AuthenticationSerializer(serializers.Serializer):
    verdict = serializers.CharField()
    results = serializers.JSONField(allow_null=True)
    checked_at = serializers.DateTimeField(allow_null=True)


class SessionSerializer(serializers.Serializer):
    client_ip = serializers.CharField(allow_null=True)
    helo = serializers.CharField()
    tls_version = serializers.CharField()
    tls_cipher = serializers.CharField()
    # The API's name since 0.1 (the model field is Message.smtp_username): kept for existing clients.
    auth_username = serializers.CharField(source="smtp_username", help_text="The SMTP AUTH username used.")


class ReportSummarySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["pending", *Report.Status.values])
    errors = serializers.IntegerField()
    warnings = serializers.IntegerField()
    notes = serializers.IntegerField()
    url = serializers.URLField()


class MessageDetailSerializer(MessageSummarySerializer):
    """A whole message: the stored summary plus what parsing the raw source gives.

    Needs the raw source on the message (`inboxes.raw_source.load_raw`, or `Message.objects.defer(None)`).
    """

    headers = serializers.SerializerMethodField()
    text = serializers.SerializerMethodField()
    html = serializers.SerializerMethodField()
    parts = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()
    authentication = serializers.SerializerMethodField()
    session = serializers.SerializerMethodField()
    errors = serializers.SerializerMethodField(help_text="Problems met storing or reading the message.")
    cuts = serializers.SerializerMethodField(
        help_text="What the reading budgets left out of this answer (the raw source is always complete)."
    )
    raw_url = serializers.SerializerMethodField()
    report = serializers.SerializerMethodField(
        help_text="The report's status and counts; its findings at `url` (the report endpoint)."
    )

    class Meta(MessageSummarySerializer.Meta):
        fields = MessageSummarySerializer.Meta.fields + [
            "date",
            "message_id",
            "has_long_lines",
            "headers",
            "text",
            "html",
            "parts",
            "attachments",
            "links",
            "authentication",
            "session",
            "errors",
            "cuts",
            "raw_url",
            "report",
        ]

    def _parts(self, message) -> mime.ParsedMessage:
        # Read once per message, however many fields read from it.
        cache = self.context.setdefault("_parsed", {})
        if message.pk not in cache:
            cache[message.pk] = mime.read(message.raw)
        return cache[message.pk]

    def get_headers(self, message) -> HeaderSerializer(many=True):
        return HeaderSerializer(self._parts(message).headers, many=True).data

    def get_text(self, message) -> str:
        return self._parts(message).text or ""

    def get_html(self, message) -> str:
        return self._parts(message).html or ""

    def get_parts(self, message) -> PartSerializer(many=True):
        names = [name for name in PartSerializer._declared_fields if name != "depth"]
        return [
            {"depth": depth, **{name: getattr(part, name) for name in names}}
            for depth, part in self._parts(message).tree
        ]

    def get_attachments(self, message) -> AttachmentSerializer(many=True):
        return [
            {
                **asdict(attachment),
                "url": _absolute(
                    self, reverse("api:message-attachment", args=[message.inbox_id, message.pk, attachment.index])
                ),
            }
            for attachment in self._parts(message).attachments
        ]

    def get_links(self, message) -> LinkSerializer(many=True):
        return LinkSerializer(self._parts(message).links, many=True).data

    def get_authentication(self, message) -> AuthenticationSerializer(allow_null=True):
        if not message.deliverability_verdict and message.deliverability_checked_at is None:
            return None
        return {
            "verdict": message.deliverability_verdict,
            "results": message.deliverability_results,
            "checked_at": message.deliverability_checked_at,
        }

    def get_session(self, message) -> SessionSerializer:
        return SessionSerializer(message).data

    def get_errors(self, message) -> list[str]:
        return list(dict.fromkeys(list(message.parse_errors or []) + self._parts(message).errors))

    def get_cuts(self, message) -> list[str]:
        return list(self._parts(message).cuts)

    def get_raw_url(self, message) -> str:
        return _absolute(self, reverse("api:message-raw", args=[message.inbox_id, message.pk]))

    def get_report(self, message) -> ReportSummarySerializer:
        report = Report.objects.filter(message_id=message.pk).only("status", "errors", "warnings", "notes").first()
        summary = {"status": "pending", "errors": 0, "warnings": 0, "notes": 0} if report is None else report.counts()
        return {**summary, "url": _absolute(self, reverse("api:message-report", args=[message.inbox_id, message.pk]))}


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField()
