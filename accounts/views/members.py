"""Changing a member's role, removing members (owners and admins) and leaving a team (anyone).

Only owners grant, take away or remove the owner role, and a team always keeps
at least one owner (enforced under a row lock in `accounts.teams`).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from ..access import get_managed_membership, get_membership
from ..forms import RoleForm
from ..models import Membership
from ..teams import LastOwner, change_role, remove_member

LAST_OWNER_MESSAGE = "A team needs at least one owner: make someone else owner first."


def _target(request, team_id, membership_id):
    acting = get_managed_membership(request, team_id)
    target = get_object_or_404(Membership.objects.select_related("user"), pk=membership_id, team_id=team_id)
    return acting, target


@login_required
@require_POST
def member_role(request, team_id, membership_id):
    acting, target = _target(request, team_id, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
        return redirect("accounts:team", team_id)
    try:
        target = change_role(acting, target, form.cleaned_data["role"])
    except Membership.DoesNotExist:
        # Removed by someone else since this request read it.
        raise Http404 from None
    except LastOwner:
        messages.error(request, LAST_OWNER_MESSAGE)
        return redirect("accounts:team", team_id)
    messages.success(request, f"{target.user.email} is now {target.get_role_display().lower()}.")
    return redirect("accounts:team", team_id)


@login_required
@require_POST
def member_remove(request, team_id, membership_id):
    acting, target = _target(request, team_id, membership_id)
    try:
        remove_member(acting, target)
    except Membership.DoesNotExist:
        # Removed by someone else since this request read it.
        raise Http404 from None
    except LastOwner:
        messages.error(request, LAST_OWNER_MESSAGE)
        return redirect("accounts:team", team_id)
    if target.user_id == request.user.pk:
        messages.success(request, f"You left “{acting.team.name}”.")
        return redirect("inboxes:home")
    messages.success(request, f"{target.user.email} was removed from the team.")
    return redirect("accounts:team", team_id)


@login_required
@require_POST
def team_leave(request, team_id):
    """Any member may leave, except the team's last owner."""
    membership = get_membership(request, team_id)
    try:
        remove_member(membership, membership)
    except Membership.DoesNotExist:
        # Removed by someone else since this request read it.
        raise Http404 from None
    except LastOwner:
        messages.error(request, LAST_OWNER_MESSAGE)
        return redirect("accounts:team", team_id)
    messages.success(request, f"You left “{membership.team.name}”.")
    return redirect("inboxes:home")
