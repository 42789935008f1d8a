"""The Report tab of a message (its own page and the fragment live updates fetch), re-running it, and an
inbox's report settings. Every view reaches its objects through the access policy (`inboxes.access`)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inboxes.access import can_manage, get_managed_inbox, get_message

from . import service
from .forms import InboxReportSettingsForm
from .models import InboxReportSettings, Report


def _context(request, message) -> dict:
    return {
        "inbox": message.inbox,
        "message": message,
        "report": Report.objects.filter(message=message).first(),
        "can_manage": can_manage(request.user, message.inbox.team_id),
    }


@login_required
@require_GET
def report(request, inbox_id, message_id):
    """The Report tab: every finding, the HTML compatibility by client, the spam score, the links."""
    message = get_message(request.user, inbox_id, message_id)
    return render(request, "reports/report.html", _context(request, message))


@login_required
@require_GET
def line(request, inbox_id, message_id):
    """The report line with its expandable details (HTML fragment), fetched when `message.checked` arrives."""
    message = get_message(request.user, inbox_id, message_id)
    return render(request, "reports/_line.html", _context(request, message))


@login_required
@require_POST
def rerun(request, inbox_id, message_id):
    """Make the report again now (after changing the inbox's report settings, or spamd's), then show it."""
    message = get_message(request.user, inbox_id, message_id)
    service.rerun(message)
    return redirect(message.get_absolute_url() + "?tab=report")


@login_required
@require_http_methods(["GET", "POST"])
def inbox_settings(request, inbox_id):
    """The inbox's expected site URL and link check opt-in (team owners and admins)."""
    inbox = get_managed_inbox(request.user, inbox_id)
    current = InboxReportSettings.for_inbox(inbox.pk)
    form = InboxReportSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Report settings saved. They apply to new messages and to reports you re-run.")
        return redirect("reports:settings", inbox_id=inbox.pk)
    return render(request, "reports/settings.html", {"inbox": inbox, "form": form})
