"""Pages of the authentication checks: re-run them, and the panel as a fragment for live updates."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from inboxes.models import Message

from .service import check_message


def _get_message_for_user(request, inbox_id, message_id) -> Message:
    """The message if it is in one of the user's teams' inboxes; 404 otherwise (whoever owns it)."""
    return get_object_or_404(
        Message, pk=message_id, inbox_id=inbox_id, inbox__team__members=request.user
    )


@login_required
@require_POST
def rerun(request, inbox_id, message_id):
    """Run the checks again with fresh DNS answers, then go back to the message."""
    message = _get_message_for_user(request, inbox_id, message_id)
    check_message(message.pk, fresh=True)
    return redirect(message.get_absolute_url() + "#auth-checks", permanent=False)


@login_required
@require_GET
def panel(request, inbox_id, message_id):
    """The panel alone (HTML fragment), fetched by the page when `message.checked` arrives."""
    message = _get_message_for_user(request, inbox_id, message_id)
    return render(request, "inboxes/_auth_panel.html", {"message": message})
