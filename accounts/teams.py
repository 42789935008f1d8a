"""Creating teams and joining them through invitations."""

import secrets

from django.db import transaction
from django.utils import timezone

from .models import Invitation, Membership, Team


@transaction.atomic
def create_team(name: str, owner) -> Team:
    """A new team with `owner` as its owner."""
    team = Team.objects.create(name=name)
    Membership.objects.create(team=team, user=owner, role=Membership.Role.OWNER)
    return team


def create_personal_team(user) -> Team:
    """The team every new account starts with."""
    return create_team(f"{user.email or user.get_username()}'s team", user)


def new_invitation_token() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def accept_invitation(invitation: Invitation, user) -> Membership:
    """Make `user` a member with the invited role; an existing member keeps the higher role."""
    membership, created = Membership.objects.get_or_create(
        team=invitation.team, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


def owner_count(team) -> int:
    return team.memberships.filter(role=Membership.Role.OWNER).count()
