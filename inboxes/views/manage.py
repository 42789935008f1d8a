"""Creating, renaming and deleting inboxes, and resetting their credentials.

Owners and admins only (the access policy's `get_managed_inbox`); every action
is a POST (forms are shown by GET). Clearing an inbox is a member's action, in
`messages.py`.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import get_managed_membership

from ..access import get_managed_inbox
from ..forms import InboxForm
from ..models import Inbox


@login_required
@require_http_methods(["GET", "POST"])
def inbox_create(request, team_id):
    membership = get_managed_membership(request, team_id)
    form = InboxForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        inbox = Inbox.objects.create(team=membership.team, name=form.cleaned_data["name"])
        messages.success(request, f"Inbox “{inbox.name}” created. Its SMTP settings are below.")
        return redirect("inboxes:integration", inbox.pk)
    return render(request, "inboxes/inbox_form.html", {"form": form, "team": membership.team, "title": "New inbox"})


@login_required
@require_http_methods(["GET", "POST"])
def inbox_rename(request, inbox_id):
    inbox = get_managed_inbox(request.user, inbox_id)
    form = InboxForm(request.POST or None, instance=inbox)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Inbox renamed.")
        return redirect("inboxes:inbox", inbox.pk)
    return render(
        request, "inboxes/inbox_form.html", {"form": form, "team": inbox.team, "inbox": inbox, "title": "Rename inbox"}
    )


@login_required
@require_POST
def inbox_delete(request, inbox_id):
    inbox = get_managed_inbox(request.user, inbox_id)
    team_id = inbox.team_id
    inbox.delete()
    messages.success(request, f"Inbox “{inbox.name}” deleted.")
    return redirect("accounts:team", team_id)


@login_required
@require_POST
def inbox_reset_credentials(request, inbox_id):
    """New SMTP username and password; the old ones stop working at once."""
    inbox = get_managed_inbox(request.user, inbox_id)
    inbox.reset_credentials()
    messages.success(request, "New SMTP credentials issued; update your applications.")
    return redirect("inboxes:integration", inbox.pk)
