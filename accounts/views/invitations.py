"""Inviting people by email; the link works for new and existing accounts.

Someone without an account follows the link, signs up (the pending invitation
is kept in the session) and accepts after verifying their address.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from ..access import get_managed_membership
from ..emails import send_templated
from ..forms import InvitationForm
from ..models import Invitation, Membership
from ..teams import accept_invitation, new_invitation_token

PENDING_SESSION_KEY = "pending_invitation"


@login_required
@require_POST
def invitation_create(request, team_id):
    membership = get_managed_membership(request, team_id)
    form = InvitationForm(request.POST, can_invite_owner=membership.role == Membership.Role.OWNER)
    if not form.is_valid():
        messages.error(request, "Enter a valid email address and role.")
        return redirect("accounts:team", team_id)
    invitation = Invitation.objects.create(
        team=membership.team,
        email=form.cleaned_data["email"],
        role=form.cleaned_data["role"],
        token=new_invitation_token(),
        invited_by=request.user,
    )
    accept_url = request.build_absolute_uri(reverse("accounts:invitation", args=[invitation.token]))
    send_templated(
        "invitation",
        [invitation.email],
        {"invitation": invitation, "team": membership.team, "inviter": request.user, "accept_url": accept_url},
    )
    messages.success(request, f"Invitation sent to {invitation.email}.")
    return redirect("accounts:team", team_id)


@login_required
@require_POST
def invitation_cancel(request, team_id, invitation_id):
    membership = get_managed_membership(request, team_id)
    invitation = get_object_or_404(Invitation, pk=invitation_id, team=membership.team, accepted_at__isnull=True)
    invitation.delete()
    messages.success(request, f"Invitation to {invitation.email} cancelled.")
    return redirect("accounts:team", team_id)


def _open_invitation(token):
    return get_object_or_404(
        Invitation.objects.select_related("team", "invited_by"), token=token, accepted_at__isnull=True
    )


@require_http_methods(["GET"])
def invitation_detail(request, token):
    """Shows who invites whom to which team; anonymous visitors are asked to sign up or log in."""
    invitation = _open_invitation(token)
    if not request.user.is_authenticated:
        request.session[PENDING_SESSION_KEY] = token
    return render(request, "accounts/invitation.html", {"invitation": invitation})


@login_required
@require_POST
def invitation_accept(request, token):
    invitation = _open_invitation(token)
    accept_invitation(invitation, request.user)
    request.session.pop(PENDING_SESSION_KEY, None)
    messages.success(request, f"You joined “{invitation.team.name}”.")
    return redirect("accounts:team", invitation.team_id)
