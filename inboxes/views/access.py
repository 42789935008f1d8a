"""Fetching inboxes and messages for the current user, or 404/403.

Every inbox and message view starts here, so another team's ids answer 404
and members can look but only owners and admins manage.
"""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from accounts.models import Membership

from ..models import Inbox, Message


def _get_inbox_for_user(request, inbox_id) -> Inbox:
    """The inbox if the user is a member of its team, else 404."""
    return get_object_or_404(Inbox.objects.select_related("team"), pk=inbox_id, team__members=request.user)


def _get_managed_inbox(request, inbox_id) -> Inbox:
    """The inbox if the user owns or administers its team; 403 for plain members."""
    inbox = _get_inbox_for_user(request, inbox_id)
    if not can_manage_team(request.user, inbox.team_id):
        raise PermissionDenied("Only owners and admins manage inboxes.")
    return inbox


def can_manage_team(user, team_id) -> bool:
    return Membership.objects.filter(
        team_id=team_id, user=user, role__in=[Membership.Role.OWNER, Membership.Role.ADMIN]
    ).exists()


def _get_message(request, inbox_id, message_id, with_raw=False) -> Message:
    inbox = _get_inbox_for_user(request, inbox_id)
    queryset = Message.objects.defer(None) if with_raw else Message.objects.all()
    message = get_object_or_404(queryset, inbox=inbox, pk=message_id)
    message.inbox = inbox
    return message
