"""Pages of the authentication checks: re-run them, and the panel as a fragment for live updates."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from inboxes.access import get_message


@login_required
@require_POST
def rerun(request, inbox_id, message_id):
    """Run the checks again with fresh DNS answers, then go back to the message."""
    from .service import check_message  # the checks' libraries load where they are used

    message = get_message(request.user, inbox_id, message_id)
    check_message(message.pk, fresh=True)
    return redirect(message.get_absolute_url() + "#auth-checks", permanent=False)


@login_required
@require_GET
def panel(request, inbox_id, message_id):
    """The panel alone (HTML fragment), fetched by the page when `message.checked` arrives."""
    message = get_message(request.user, inbox_id, message_id)
    return render(request, "deliverability/_panel.html", {"message": message})
