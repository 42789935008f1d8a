"""Team pages: list, create, show, rename."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from ..access import get_managed_membership, get_membership
from ..forms import InvitationForm, TeamForm
from ..models import Membership
from ..teams import allowed_roles, create_team, may_remove, owner_ids


@login_required
@require_GET
def team_list(request):
    """The teams the user belongs to, with their role and inbox count."""
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("team")
        .annotate(
            inbox_count=Count("team__inboxes", distinct=True), member_count=Count("team__memberships", distinct=True)
        )
        .order_by("team__name", "team_id")
    )
    return render(request, "accounts/team_list.html", {"memberships": memberships})


@login_required
@require_http_methods(["GET", "POST"])
def team_create(request):
    """Anyone signed in can create a team; they become its owner."""
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        team = create_team(form.cleaned_data["name"], request.user)
        messages.success(request, f"Team “{team.name}” created.")
        return redirect("accounts:team", team.pk)
    return render(request, "accounts/team_form.html", {"form": form, "title": "New team"})


@login_required
@require_GET
def team_detail(request, team_id):
    """Members, pending invitations and inboxes; management forms for owners/admins."""
    membership = get_membership(request, team_id)
    team = membership.team
    owners = owner_ids(team_id)
    # Only what the rules in accounts.teams allow is offered: no button that is then refused.
    role_labels = dict(Membership.Role.choices)
    members = []
    for m in team.memberships.select_related("user").order_by("created", "id"):
        roles = allowed_roles(membership, m, owners) if membership.can_manage else []
        members.append(
            {
                "membership": m,
                "role_choices": [(role, role_labels[role]) for role in roles],
                "removable": m.pk != membership.pk and may_remove(membership, m, owners),
            }
        )
    context = {
        "team": team,
        "membership": membership,
        "members": members,
        "may_leave": may_remove(membership, membership, owners),
        "invitations": team.invitations.filter(accepted_at__isnull=True),
        "inboxes": team.inboxes.all(),
        "invite_form": InvitationForm(can_invite_owner=membership.role == Membership.Role.OWNER),
    }
    return render(request, "accounts/team_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def team_rename(request, team_id):
    membership = get_managed_membership(request, team_id)
    form = TeamForm(request.POST or None, instance=membership.team)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Team renamed.")
        return redirect("accounts:team", team_id)
    return render(request, "accounts/team_form.html", {"form": form, "title": "Rename team", "team": membership.team})
