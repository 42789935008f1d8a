"""The message report in the API: GET .../messages/<id>/report/ and POST .../report/rerun/.

The report is made in the background right after a message arrives (the
`reports` app); until then `status` is "pending". Access goes through the
access policy (`inboxes.access`), as for the message itself.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from inboxes.access import get_message
from reports import service
from reports.models import Report


class FindingSerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=["error", "warning", "note"])
    check = serializers.CharField(help_text="The rule, e.g. template-variable, link-testserver, compat-unsupported.")
    what = serializers.CharField(help_text="What is wrong.")
    why = serializers.CharField(help_text="Why it matters.")
    fix = serializers.CharField(help_text="How to fix it.")
    part = serializers.CharField(help_text="html, text, headers, message, spam or links.")
    line = serializers.IntegerField(allow_null=True, help_text="1-based line in that part, when it has one.")
    lines = serializers.ListField(child=serializers.IntegerField())
    text = serializers.CharField(help_text="The offending text or link (shortened).")


class ReportCountsSerializer(serializers.Serializer):
    errors = serializers.IntegerField()
    warnings = serializers.IntegerField()
    notes = serializers.IntegerField()


class ReportSerializer(serializers.Serializer):
    message_id = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=["pending", *Report.Status.values],
        help_text="pending (not made yet), complete, bounded (a budget cut part of the work: see limits) or failed.",
    )
    counts = ReportCountsSerializer()
    findings = FindingSerializer(many=True)
    limits = serializers.ListField(child=serializers.CharField(), help_text="What the budgets cut.")
    compatibility = serializers.JSONField(allow_null=True, help_text="caniemail features, clients and scores.")
    spam = serializers.JSONField(allow_null=True, help_text="SpamAssassin score, threshold and rules.")
    links = serializers.JSONField(allow_null=True, help_text="The link check (when the inbox opted in).")
    created_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, report):
        if report is None:
            message = self.context["message"]
            return {
                "message_id": message.pk,
                "status": "pending",
                "counts": {"errors": 0, "warnings": 0, "notes": 0},
                "findings": [],
                "limits": [],
                "compatibility": None,
                "spam": None,
                "links": None,
                "created_at": None,
            }
        data = report.data
        return {
            "message_id": report.message_id,
            "status": report.status,
            "counts": {"errors": report.errors, "warnings": report.warnings, "notes": report.notes},
            "findings": data.get("findings", []),
            "limits": data.get("limits", []) + ([data["reason"]] if data.get("reason") else []),
            "compatibility": data.get("compatibility"),
            "spam": data.get("spam"),
            "links": data.get("links"),
            "created_at": serializers.DateTimeField().to_representation(report.created_at),
        }


def _response(message, report):
    # to_representation also for a message without a report yet (`.data` of None would be the empty form).
    return Response(ReportSerializer(context={"message": message}).to_representation(report))


class MessageReport(APIView):
    @extend_schema(responses=ReportSerializer)
    def get(self, request, inbox_id, message_id):
        """The report on the message: findings (what, where, why, how to fix), compatibility, spam score, links."""
        message = get_message(request.user, inbox_id, message_id, request.auth)
        return _response(message, Report.objects.filter(message=message).first())


class MessageReportRerun(APIView):
    @extend_schema(request=None, responses=ReportSerializer)
    def post(self, request, inbox_id, message_id):
        """Make the report again now and return it."""
        message = get_message(request.user, inbox_id, message_id, request.auth)
        return _response(message, service.rerun(message))
