"""Inviting people by email; one view per action (send, cancel, show, accept, decline).

An invitation belongs to the address it was sent to: only a signed-in user who
has that address as a verified email can accept it, once, before it expires
(`MAILDOG_INVITATION_DAYS`). Someone without an account follows the link, signs
up with that address (filled in; the pending invitation is kept in the session,
and `/` leads back to it) and accepts after verifying it. Declining needs no
account: the invited user, or anyone not signed in who has the link, can decline.

Answers for a link that cannot be used: 404 for an unknown token, 410 for one
that was accepted, declined or expired, 403 for a user without the invited
address; each page says why. The token is part of the URL, so the loggers that
write request paths redact it (`accounts.log_filters`).
"""

import logging
import smtplib

from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from ..access import get_managed_membership
from ..forms import InvitationForm
from ..models import Invitation, Membership
from ..teams import InvitationClosed, accept_invitation, decline_invitation, new_invitation_token

logger = logging.getLogger(__name__)

# The token of an invitation opened while signed out; the start page leads back to it.
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
    context = {"invitation": invitation, "team": membership.team, "inviter": request.user, "accept_url": accept_url}
    try:
        get_adapter(request).send_mail("emails/invitation", invitation.email, context)
    except (smtplib.SMTPException, OSError) as exc:
        # Not sent: keep no invitation that nobody can receive. (No token in this line.)
        invitation.delete()
        logger.error("invitation email to team %s could not be sent: %s", team_id, exc)
        messages.error(request, f"The invitation email could not be sent ({exc}); try again later.")
        return redirect("accounts:team", team_id)
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


def _find(token):
    return Invitation.objects.select_related("team", "invited_by").filter(token=token).first()


def _closed(request, invitation):
    """The page for a link that cannot be used: 404 unknown, 410 accepted, declined or expired."""
    status = 404 if invitation is None else 410
    return render(request, "accounts/invitation_closed.html", {"invitation": invitation}, status=status)


def _not_yours(request, invitation):
    return render(request, "accounts/invitation_not_yours.html", {"invitation": invitation}, status=403)


def _usable(invitation) -> bool:
    return invitation is not None and invitation.is_open


def _refusal(request, invitation):
    """Why the signed-in user cannot answer this invitation (a page), or None when they can."""
    if not _usable(invitation):
        return _closed(request, invitation)
    if not invitation.is_for(request.user):
        return _not_yours(request, invitation)
    return None


@require_GET
def invitation_detail(request, token):
    """Who invites which address to which team, with accept/decline for that address's owner.

    Anonymous visitors are asked to log in or sign up (the invitation waits in
    their session); a signed-in user without the invited address is told so.
    """
    invitation = _find(token)
    if not _usable(invitation):
        request.session.pop(PENDING_SESSION_KEY, None)
        return _closed(request, invitation)
    if not request.user.is_authenticated:
        request.session[PENDING_SESSION_KEY] = token
        return render(request, "accounts/invitation.html", {"invitation": invitation})
    # Shown once after signing in; from now on the emailed link is the way back.
    request.session.pop(PENDING_SESSION_KEY, None)
    if not invitation.is_for(request.user):
        return _not_yours(request, invitation)
    return render(request, "accounts/invitation.html", {"invitation": invitation})


@login_required
@require_POST
def invitation_accept(request, token):
    invitation = _find(token)
    if refusal := _refusal(request, invitation):
        return refusal
    try:
        accept_invitation(invitation, request.user)
    except InvitationClosed:
        return _closed(request, _find(token))
    request.session.pop(PENDING_SESSION_KEY, None)
    messages.success(request, f"You joined “{invitation.team.name}”.")
    return redirect("accounts:team", invitation.team_id)


@require_POST
def invitation_decline(request, token):
    """Decline: the invited address's signed-in owner, or anyone not signed in who has the emailed link.

    Declining needs no account: the link reached the invited address, and someone who does not want
    to join should not have to sign up to say so. A signed-in user of another address is refused,
    as for accepting.
    """
    invitation = _find(token)
    if not request.user.is_authenticated:
        refusal = None if _usable(invitation) else _closed(request, invitation)
    else:
        refusal = _refusal(request, invitation)
    if refusal:
        return refusal
    try:
        decline_invitation(invitation)
    except InvitationClosed:
        return _closed(request, _find(token))
    request.session.pop(PENDING_SESSION_KEY, None)
    messages.success(request, f"You declined the invitation to “{invitation.team.name}”.")
    if not request.user.is_authenticated:
        return redirect("accounts:invitation", token)  # says it was declined; no account to go to
    return redirect("inboxes:home")
