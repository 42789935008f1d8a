"""Template helpers for Maildog's layout."""

from django import template

from accounts.models import Membership

from ..models import Inbox
from ..unread import UNREAD_WINDOW, unread_counts

register = template.Library()


@register.inclusion_tag("inboxes/_sidebar.html", takes_context=True)
def sidebar(context):
    """The user's teams, each with its inboxes and their unread counts."""
    request = context["request"]
    current = context.get("inbox")
    memberships = list(
        Membership.objects.filter(user=request.user).select_related("team").order_by("team__name", "team_id")
    )
    inboxes = list(Inbox.objects.filter(team__in=[m.team_id for m in memberships]).order_by("name", "id"))
    counts = unread_counts(inboxes)
    by_team = {}
    for inbox in inboxes:
        inbox.unread = counts[inbox.pk]
        by_team.setdefault(inbox.team_id, []).append(inbox)
    teams = [(m, by_team.get(m.team_id, [])) for m in memberships]
    return {
        "teams": teams,
        "current_inbox_id": getattr(current, "pk", None),
        "request": request,
        "unread_window": UNREAD_WINDOW,
    }


@register.filter
def unread_badge(count):
    """The badge text: the count, or "999+" once the counted window is full."""
    return f"{UNREAD_WINDOW - 1}+" if count >= UNREAD_WINDOW else str(count)
