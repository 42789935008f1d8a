"""Template helpers for Maildog's layout."""

from django import template
from django.db.models import Count, Q

from accounts.models import Membership

from ..models import Inbox

register = template.Library()


@register.inclusion_tag("inboxes/_sidebar.html", takes_context=True)
def sidebar(context):
    """The user's teams, each with its inboxes and their unread counts."""
    request = context["request"]
    current = context.get("inbox")
    memberships = list(
        Membership.objects.filter(user=request.user).select_related("team").order_by("team__name", "team_id")
    )
    inboxes = (
        Inbox.objects.filter(team__in=[m.team_id for m in memberships])
        .annotate(unread=Count("messages", filter=Q(messages__is_read=False)))
        .order_by("name", "id")
    )
    by_team = {}
    for inbox in inboxes:
        by_team.setdefault(inbox.team_id, []).append(inbox)
    teams = [(m, by_team.get(m.team_id, [])) for m in memberships]
    return {"teams": teams, "current_inbox_id": getattr(current, "pk", None), "request": request}
