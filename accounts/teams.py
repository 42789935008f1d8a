"""Creating teams, changing who is in them, and joining them through invitations.

Every change that could take the owner role away (demote, remove, leave) runs in
a transaction that first locks the team's owner memberships (`SELECT ... FOR
UPDATE`, in primary-key order), then re-reads the memberships involved. Two
owners demoting each other at once are therefore serialised: the second one sees
the first one's change and is refused, so a team always keeps one owner. (SQLite
has no row locks; Maildog opens its SQLite transactions IMMEDIATE, which
serialises them the same way.)
"""

import secrets

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from .models import Invitation, Membership, Team

OWNER = Membership.Role.OWNER


class LastOwner(Exception):
    """The change would leave the team without an owner."""


class InvitationClosed(Exception):
    """The invitation was answered or expired before this request could use it."""


@transaction.atomic
def create_team(name: str, owner) -> Team:
    """A new team with `owner` as its owner."""
    team = Team.objects.create(name=name)
    Membership.objects.create(team=team, user=owner, role=OWNER)
    return team


def create_personal_team(user) -> Team:
    """The team every new account starts with."""
    return create_team(f"{user.email or user.get_username()}'s team", user)


def new_invitation_token() -> str:
    return secrets.token_urlsafe(32)


def _lock_owners(team_id) -> list[int]:
    """Lock the team's owner memberships until the transaction ends; their ids."""
    owners = Membership.objects.owners().filter(team_id=team_id).select_for_update().order_by("pk")
    return list(owners.values_list("pk", flat=True))


def _locked(membership_id, team_id) -> Membership:
    """Re-read a membership under a row lock (404 handling is the caller's: this raises DoesNotExist)."""
    return Membership.objects.select_for_update().select_related("user").get(pk=membership_id, team_id=team_id)


def check_role_change(acting: Membership, target: Membership, role: str, owner_ids: list[int]) -> None:
    """Raise PermissionDenied or LastOwner if `acting` may not give `target` the role `role`.

    `owner_ids` are the team's owner memberships. The one rule for role changes: the team page
    offers only what passes it, and `change_role` enforces it under a lock.
    """
    if not acting.can_manage:
        raise PermissionDenied("Only owners and admins can do this.")
    if OWNER in (role, target.role) and acting.role != OWNER:
        raise PermissionDenied("Only owners can grant or take away the owner role.")
    if target.role == OWNER and role != OWNER and owner_ids == [target.pk]:
        raise LastOwner


def check_removal(acting: Membership, target: Membership, owner_ids: list[int]) -> None:
    """Raise PermissionDenied or LastOwner if `acting` may not remove `target` (leaving when they are one)."""
    if acting.pk != target.pk:
        if not acting.can_manage:
            raise PermissionDenied("Only owners and admins can do this.")
        if target.role == OWNER and acting.role != OWNER:
            raise PermissionDenied("Only owners can remove an owner.")
    if owner_ids == [target.pk]:
        raise LastOwner


def allowed_roles(acting: Membership, target: Membership, owner_ids: list[int]) -> list[str]:
    """The roles `acting` may give `target` (by `check_role_change`); its current role included."""
    roles = []
    for role in Membership.Role.values:
        try:
            check_role_change(acting, target, role, owner_ids)
        except (PermissionDenied, LastOwner):
            continue
        roles.append(role)
    return roles


def may_remove(acting: Membership, target: Membership, owner_ids: list[int]) -> bool:
    """Whether `acting` may remove `target` (by `check_removal`)."""
    try:
        check_removal(acting, target, owner_ids)
    except (PermissionDenied, LastOwner):
        return False
    return True


def owner_ids(team_id) -> list[int]:
    """The team's owner memberships, in primary-key order (without a lock: for showing what is allowed)."""
    return list(Membership.objects.owners().filter(team_id=team_id).order_by("pk").values_list("pk", flat=True))


@transaction.atomic
def change_role(acting: Membership, target: Membership, role: str) -> Membership:
    """Give `target` the role `role` on behalf of `acting` (both of the same team).

    Raises PermissionDenied if `acting` does not manage the team, or is not an
    owner and the change grants or takes away the owner role; LastOwner if it
    would demote the team's only owner. Returns the updated membership.
    """
    owners = _lock_owners(acting.team_id)
    acting = _locked(acting.pk, acting.team_id)
    target = _locked(target.pk, acting.team_id)
    check_role_change(acting, target, role, owners)
    target.role = role
    target.save(update_fields=["role"])
    return target


@transaction.atomic
def remove_member(acting: Membership, target: Membership) -> None:
    """Remove `target` from the team on behalf of `acting` (who may be `target`, leaving).

    Anyone may leave; removing someone else needs an owner or admin, and an
    owner can only be removed by an owner. Raises PermissionDenied or LastOwner.
    """
    owners = _lock_owners(acting.team_id)
    acting = _locked(acting.pk, acting.team_id)
    target = _locked(target.pk, acting.team_id)
    check_removal(acting, target, owners)
    target.delete()


@transaction.atomic
def accept_invitation(invitation: Invitation, user) -> Membership:
    """Make `user` a member with the invited role; an existing member keeps their role.

    The caller has checked `invitation.is_for(user)`. Raises InvitationClosed if
    the invitation was answered or expired meanwhile (the row is locked, so two
    tabs cannot both use it).
    """
    try:
        invitation = Invitation.objects.open().select_for_update().get(pk=invitation.pk)
    except Invitation.DoesNotExist:
        raise InvitationClosed from None
    membership, _ = Membership.objects.get_or_create(
        team_id=invitation.team_id, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


@transaction.atomic
def decline_invitation(invitation: Invitation) -> None:
    """Mark the invitation declined; raises InvitationClosed if it was answered or expired meanwhile."""
    updated = Invitation.objects.open().filter(pk=invitation.pk).update(declined_at=timezone.now())
    if not updated:
        raise InvitationClosed
