"""Who may see and manage a team: every team view starts here.

Another team's id answers 404 (its existence is not revealed); a member who
tries an owner/admin action gets 403.
"""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from .models import Membership


def get_membership(request, team_id) -> Membership:
    """The current user's membership of team `team_id`, or 404."""
    return get_object_or_404(Membership.objects.select_related("team"), team_id=team_id, user=request.user)


def get_managed_membership(request, team_id) -> Membership:
    """Like `get_membership`, but only for owners and admins (403 otherwise)."""
    membership = get_membership(request, team_id)
    if not membership.can_manage:
        raise PermissionDenied("Only owners and admins can do this.")
    return membership
