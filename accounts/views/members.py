"""Changing a member's role and removing members (owners and admins only).

Only owners grant, take away or remove the owner role, and a team always keeps
at least one owner.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from ..access import get_managed_membership
from ..forms import RoleForm
from ..models import Membership
from ..teams import owner_count

OWNER = Membership.Role.OWNER


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
    role = form.cleaned_data["role"]
    if OWNER in (role, target.role) and acting.role != OWNER:
        raise PermissionDenied("Only owners can grant or take away the owner role.")
    if target.role == OWNER and role != OWNER and owner_count(acting.team) == 1:
        messages.error(request, "A team needs at least one owner.")
        return redirect("accounts:team", team_id)
    target.role = role
    target.save(update_fields=["role"])
    messages.success(request, f"{target.user.email} is now {target.get_role_display().lower()}.")
    return redirect("accounts:team", team_id)


@login_required
@require_POST
def member_remove(request, team_id, membership_id):
    acting, target = _target(request, team_id, membership_id)
    if target.role == OWNER and acting.role != OWNER:
        raise PermissionDenied("Only owners can remove an owner.")
    if target.role == OWNER and owner_count(acting.team) == 1:
        messages.error(request, "A team needs at least one owner.")
        return redirect("accounts:team", team_id)
    target.delete()
    messages.success(request, f"{target.user.email} was removed from the team.")
    if target.user_id == request.user.pk:
        return redirect("inboxes:home")
    return redirect("accounts:team", team_id)
