"""The one access policy: which inboxes and messages a user (or API token) may see, and who manages them.

Every page, API view, websocket consumer and the sidebar asks here; nothing
else decides. The rules:

- A user sees the inboxes of the teams they belong to. An API token acts for its
  user; a token scoped to one inbox reaches only that inbox, and only reads.
- Outside that reach an inbox or message does not exist: 404, never 403, so
  another team's ids reveal nothing.
- Every member may read mail and tidy it up: mark read or unread, delete one
  message, a selection, or the whole inbox (clear). A shared sandbox is cleaned
  by whoever uses it.
- Fault rules (making the inbox's SMTP answers fail on purpose) are part of a
  test run: every member sets them, and so does an inbox-scoped token, on its
  one inbox (`token_may_set_faults`).
- Managing an inbox itself (create, rename, change its cap, reset its SMTP
  credentials, delete it) is for the team's owners and admins
  (`Membership.can_manage`): plain members get 403.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.models import Membership

from .models import Inbox, Message
from .raw_source import load_raw


def visible_inboxes(user, token=None) -> QuerySet[Inbox]:
    """The inboxes `user` may see; narrowed to its one inbox for an inbox-scoped API `token`."""
    if user is None or not user.is_authenticated:
        return Inbox.objects.none()
    inboxes = Inbox.objects.filter(team__memberships__user=user).select_related("team")
    if token is not None and token.inbox_id is not None:
        inboxes = inboxes.filter(pk=token.inbox_id)
    return inboxes


def can_see_inbox(user, inbox_id: int) -> bool:
    """Whether `user` may see the inbox (for websocket consumers, which close instead of answering 404)."""
    return visible_inboxes(user).filter(pk=inbox_id).exists()


def get_inbox(user, inbox_id: int, token=None) -> Inbox:
    """The inbox if `user` (through `token`, if any) may see it, else Http404."""
    return get_object_or_404(visible_inboxes(user, token), pk=inbox_id)


def get_message(user, inbox_id: int, message_id: int, token=None, *, with_raw: bool = False) -> Message:
    """The message if it is in an inbox `user` may see, else Http404. `with_raw` also loads its source."""
    inbox = get_inbox(user, inbox_id, token)
    message = get_object_or_404(Message.objects.all(), inbox=inbox, pk=message_id)
    message.inbox = inbox  # already loaded, with its team
    if with_raw:
        try:
            message.raw = load_raw(message.pk)
        except Message.DoesNotExist:  # deleted (or pushed out by the inbox's cap) a moment ago
            raise Http404("No such message.") from None
    return message


def can_manage(user, team_id: int) -> bool:
    """Whether `user` is an owner or admin of the team (the rule is `Membership.can_manage`)."""
    return Membership.manages(user, team_id)


def get_managed_inbox(user, inbox_id: int, token=None) -> Inbox:
    """The inbox if `user` manages its team; 404 if they cannot see it, 403 if they only belong to the team."""
    inbox = get_inbox(user, inbox_id, token)
    if not can_manage(user, inbox.team_id):
        raise PermissionDenied("Only the team's owners and admins manage inboxes.")
    return inbox


def token_may_set_faults(token) -> bool:
    """Any token (an inbox-scoped one too, within its inbox: `get_inbox` applies the scope) may set fault rules."""
    return True


def token_may_write(token) -> bool:
    """An inbox-scoped API token (for CI) only reads; a user's full token, or a session, may also change."""
    return token is None or token.inbox_id is None
