"""Placeholder pages until the web product lands; the admin lists messages."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404

from .models import Inbox, Message


def _get_inbox_for_user(request, inbox_id):
    return get_object_or_404(Inbox, pk=inbox_id, team__members=request.user)


@login_required
def home(request):
    return HttpResponse("Maildog is running. Captured messages are listed in /admin/.")


@login_required
def inbox(request, inbox_id):
    inbox = _get_inbox_for_user(request, inbox_id)
    return HttpResponse(f"{inbox.name}: {inbox.messages.count()} messages")


@login_required
def message(request, inbox_id, message_id):
    inbox = _get_inbox_for_user(request, inbox_id)
    msg = get_object_or_404(Message, inbox=inbox, pk=message_id)
    return HttpResponse(msg.subject)
