"""The message list of an inbox and the actions on its rows.

The list pages by the inbox's sequence number (keyset pagination over the
unique (inbox, seq) index), so page 2,000 of a 100,000-message inbox costs the
same as page 1 and no page counts the whole table.
"""

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from ..access import can_manage, get_inbox, get_message
from ..models import Message

PAGE_SIZE = 50
LIST_FIELDS = [
    "id",
    "inbox_id",
    "seq",
    "received_at",
    "subject",
    "from_header",
    "to_header",
    "envelope_from",
    "envelope_to",
    "size",
    "has_attachments",
    "is_read",
    "deliverability_verdict",
]


def _int_param(request, name):
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


def _search(queryset, query):
    for word in query.split():
        queryset = queryset.filter(
            Q(subject__icontains=word)
            | Q(from_header__icontains=word)
            | Q(to_header__icontains=word)
            | Q(envelope_from__icontains=word)
            | Q(cc_header__icontains=word)
        )
    return queryset


@login_required
@require_GET
def inbox(request, inbox_id):
    """Newest first; `?before=<seq>` pages to older messages, `?after=<seq>` back to newer ones."""
    inbox = get_inbox(request.user, inbox_id)
    query = request.GET.get("q", "").strip()
    before, after = _int_param(request, "before"), _int_param(request, "after")
    queryset = Message.objects.filter(inbox=inbox).only(*LIST_FIELDS)
    if query:
        queryset = _search(queryset, query)
    if after is not None:
        rows = list(queryset.filter(seq__gt=after).order_by("seq")[: PAGE_SIZE + 1])
        has_newer = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE][::-1]
        has_older = bool(rows) and queryset.filter(seq__lt=rows[-1].seq).exists()
    else:
        if before is not None:
            queryset = queryset.filter(seq__lt=before)
        rows = list(queryset.order_by("-seq")[: PAGE_SIZE + 1])
        has_older = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        has_newer = before is not None and bool(rows)
    context = {
        "inbox": inbox,
        "messages_page": rows,
        "query": query,
        "newer_seq": rows[0].seq if rows and has_newer else None,
        "older_seq": rows[-1].seq if rows and has_older else None,
        # New mail is inserted live only where it belongs: the unfiltered first page.
        "live_insert": not query and before is None and after is None,
        "last_seq": inbox.last_seq,
        "can_manage": can_manage(request.user, inbox.team_id),
        "tab": "messages",
        "auth_checks_enabled": settings.MAILDOG_AUTH_CHECKS,
    }
    return render(request, "inboxes/inbox.html", context)


def _back(request, inbox):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(inbox.get_absolute_url())


def _selected(request, inbox):
    ids = [int(value) for value in request.POST.getlist("ids") if value.isdigit()]
    return Message.objects.filter(inbox=inbox, pk__in=ids)


@login_required
@require_POST
def messages_mark(request, inbox_id, state):
    """Mark the selected messages read (`state` "read") or unread."""
    inbox = get_inbox(request.user, inbox_id)
    count = _selected(request, inbox).update(is_read=state == "read")
    flash.success(request, f"Marked {count} messages {state}.")
    return _back(request, inbox)


@login_required
@require_POST
def inbox_clear(request, inbox_id):
    """Delete every message of the inbox (any member, as through the API); the inbox and its credentials stay."""
    inbox = get_inbox(request.user, inbox_id)
    deleted, _ = Message.objects.filter(inbox=inbox).delete()
    flash.success(request, f"Deleted {deleted} messages.")
    return redirect("inboxes:inbox", inbox.pk)


@login_required
@require_POST
def messages_delete(request, inbox_id):
    """Delete the selected messages (any member)."""
    inbox = get_inbox(request.user, inbox_id)
    count, _ = _selected(request, inbox).delete()
    flash.success(request, f"Deleted {count} messages.")
    return _back(request, inbox)


@login_required
@require_POST
def message_mark(request, inbox_id, message_id, state):
    message = get_message(request.user, inbox_id, message_id)
    Message.objects.filter(pk=message.pk).update(is_read=state == "read")
    if state == "unread":
        return redirect(message.inbox.get_absolute_url())
    return redirect(message.get_absolute_url())


@login_required
@require_POST
def message_delete(request, inbox_id, message_id):
    message = get_message(request.user, inbox_id, message_id)
    message.delete()
    flash.success(request, "Message deleted.")
    return redirect(reverse("inboxes:inbox", args=[inbox_id]))
