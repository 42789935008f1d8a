"""Template helpers for Maildog's layout."""

import re

from django import template
from django.utils.html import conditional_escape, urlize
from django.utils.safestring import mark_safe

from accounts.models import Membership

from .. import downloads
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


@register.filter
def previewable(attachment) -> bool:
    """Whether an attachment is declared as a raster image that a page may preview (its bytes decide when served)."""
    return downloads.previewable(attachment.content_type)


# Text longer than this is shown without clickable links: linking scans every word (the Links tab lists them all).
LINKIFY_MAX_CHARS = 2 * 1024 * 1024
_ANCHOR = re.compile(r'<a href="')


@register.filter(needs_autoescape=True)
def linkify(text, autoescape=True):
    """Plain text, escaped, with its URLs and addresses as links that open in a new tab without a referrer.

    Django's `urlize` finds and escapes them; every anchor it writes then gets
    `target="_blank" rel="noopener noreferrer"` (the text around the links is
    escaped, so every `<a href="` in the result is one of urlize's).
    """
    if text is None:
        return ""
    if len(text) > LINKIFY_MAX_CHARS:
        return conditional_escape(text)
    html = urlize(text, nofollow=False, autoescape=autoescape)
    return mark_safe(_ANCHOR.sub('<a target="_blank" rel="noopener noreferrer" href="', html))  # noqa: S308
