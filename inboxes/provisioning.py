"""Creating teams and inboxes from the command line (first run, CI pipelines)."""

from django.db import transaction

from accounts.models import Membership, Team

from .models import Inbox


@transaction.atomic
def get_or_create_inbox(team_name: str, inbox_name: str, owner=None) -> Inbox:
    """The inbox `inbox_name` of team `team_name`, creating either if missing."""
    team = Team.objects.filter(name=team_name).order_by("pk").first()
    if team is None:
        team = Team.objects.create(name=team_name)
    if owner is not None:
        Membership.objects.get_or_create(team=team, user=owner, defaults={"role": Membership.Role.OWNER})
    inbox = team.inboxes.filter(name=inbox_name).order_by("pk").first()
    return inbox or Inbox.objects.create(team=team, name=inbox_name)
