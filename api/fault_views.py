"""The API of fault rules: list, create, read and delete an inbox's rules; the faults injected lately.

Any member of the inbox's team manages its fault rules, as they clear its
messages: a shared sandbox is tested by whoever uses it. Fault rules are part
of a test run, so an inbox-scoped token (what CI holds) may set them too, on
its one inbox: the access policy's `token_may_set_faults`.
"""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from faults.models import FaultRule, InjectedFault
from inboxes.access import get_inbox, token_may_set_faults

from .fault_serializers import FaultRuleSerializer, InjectedFaultSerializer

INJECTED_LIMIT = 100


class MayDriveTests(BasePermission):
    message = "This token cannot change fault rules."

    def has_permission(self, request, view):
        return token_may_set_faults(request.auth)


class FaultAPIView(APIView):
    # Instead of the default ScopedTokenReadOnly: see the module docstring.
    permission_classes = [IsAuthenticated, MayDriveTests]


class FaultRuleList(FaultAPIView):
    @extend_schema(responses=FaultRuleSerializer(many=True))
    def get(self, request, inbox_id):
        """The inbox's fault rules (used up and expired ones included, with `active` false)."""
        inbox = get_inbox(request.user, inbox_id, request.auth)
        return Response(FaultRuleSerializer(inbox.fault_rules.all(), many=True).data)

    @extend_schema(request=FaultRuleSerializer, responses={201: FaultRuleSerializer})
    def post(self, request, inbox_id):
        """Create a fault rule; it applies in every SMTP process at once."""
        inbox = get_inbox(request.user, inbox_id, request.auth)
        serializer = FaultRuleSerializer(data=request.data, context={"inbox": inbox})
        serializer.is_valid(raise_exception=True)
        rule = serializer.save(inbox=inbox, created_by=request.user)
        return Response(FaultRuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class FaultRuleDetail(FaultAPIView):
    def _rule(self, request, inbox_id, rule_id) -> FaultRule:
        inbox = get_inbox(request.user, inbox_id, request.auth)
        rule = inbox.fault_rules.filter(pk=rule_id).first()
        if rule is None:
            raise Http404("No such fault rule.")
        return rule

    @extend_schema(responses=FaultRuleSerializer)
    def get(self, request, inbox_id, rule_id):
        """One fault rule, with how often it fired (`hits`) and what is left (`remaining`)."""
        return Response(FaultRuleSerializer(self._rule(request, inbox_id, rule_id)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, inbox_id, rule_id):
        """Remove the rule; it stops applying in every SMTP process at once."""
        self._rule(request, inbox_id, rule_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class InjectedFaultList(FaultAPIView):
    @extend_schema(responses=InjectedFaultSerializer(many=True))
    def get(self, request, inbox_id):
        """The faults injected into the inbox's SMTP sessions, newest first (at most 100)."""
        inbox = get_inbox(request.user, inbox_id, request.auth)
        faults = InjectedFault.objects.filter(inbox=inbox).order_by("-id")[:INJECTED_LIMIT]
        return Response(InjectedFaultSerializer(faults, many=True).data)
