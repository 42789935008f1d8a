"""Who may see and change what through the API.

A token acts for its user on the inboxes of the user's teams, checked on every
request; an inbox-scoped token reaches only its inbox and only reads. Inboxes
outside that reach answer 404, never 403, so ids of other teams reveal nothing.
"""

from django.shortcuts import get_object_or_404
from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.models import Membership
from inboxes.models import Inbox


def inboxes_for(user, token):
    """The inboxes a token can reach: its user's teams, narrowed to one inbox for a scoped token."""
    inboxes = Inbox.objects.filter(team__memberships__user=user).select_related("team")
    if token is not None and token.inbox_id is not None:
        inboxes = inboxes.filter(pk=token.inbox_id)
    return inboxes


def get_inbox_for_token(user, token, inbox_id) -> Inbox:
    """The inbox if the token reaches it, else Http404."""
    return get_object_or_404(inboxes_for(user, token), pk=inbox_id)


def _get_inbox_for_user(request, inbox_id) -> Inbox:
    return get_inbox_for_token(request.user, request.auth, inbox_id)


def can_manage(user, inbox) -> bool:
    """Owners and admins of the inbox's team manage it (credentials)."""
    membership = Membership.objects.filter(team_id=inbox.team_id, user=user).first()
    return membership is not None and membership.can_manage


class ScopedTokenReadOnly(BasePermission):
    """An inbox-scoped token (for CI) may only read."""

    message = "This token can only read its inbox."

    def has_permission(self, request, view):
        token = request.auth
        return request.method in SAFE_METHODS or token is None or token.inbox_id is None
