"""The message list of an inbox, its search, and the actions on its rows or on a whole result.

The list pages by the inbox's sequence number (keyset pagination over the
unique (inbox, seq) index), so page 2,000 of a 100,000-message inbox costs the
same as page 1 and the unfiltered list never counts the table. A search (`?q=`,
the language of `inboxes.search`) pages the same way through the full-text
index and counts its results up to `inboxes.search.COUNT_CAP`.
"""

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from ..access import can_manage, get_inbox, get_message
from ..models import Inbox, Message
from ..search import QueryError, search

PAGE_SIZE = 50
BULK_BATCH = 500
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
    "deliverability_results",  # the row's marker shows its headline: deferred, it cost a query per row
]


def _int_param(request, name):
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


def _count_label(count: int, capped: bool, noun: str) -> str:
    if capped:
        return f"{count:,}+ {noun}s"
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


@login_required
@require_GET
def inbox(request, inbox_id):
    """Newest first; `?before=<seq>` pages to older messages, `?after=<seq>` back to newer ones.

    `?q=` searches (the language of `inboxes.search`); a malformed query is
    shown above an empty list, never answered with an error page.
    """
    inbox = get_inbox(request.user, inbox_id)
    query_text = request.GET.get("q", "").strip()
    before, after = _int_param(request, "before"), _int_param(request, "after")
    query_error = ""
    try:
        found = search(inbox.pk, query_text)
    except QueryError as error:
        query_error = str(error)
        found = None
    rows: list[Message] = []
    has_older = has_newer = False
    count, count_capped = 0, False
    if found is not None:
        ids = found.page(before_seq=before, after_seq=after, limit=PAGE_SIZE + 1)
        more = len(ids) > PAGE_SIZE
        ids = ids[:PAGE_SIZE]
        rows = sorted(Message.objects.filter(pk__in=ids).only(*LIST_FIELDS), key=lambda m: -m.seq)
        if after is not None:
            has_newer = more
            has_older = bool(rows) and bool(found.page(before_seq=rows[-1].seq, limit=1))
        else:
            has_older = more
            has_newer = before is not None and bool(rows)
        if query_text:  # the unfiltered list never counts the inbox
            counted = found.bounded_count()
            if counted is None:  # too costly to count: what the page shows is what is known
                count, count_capped = len(rows), has_older or has_newer
            else:
                count, count_capped = counted
    context = {
        "inbox": inbox,
        "messages_page": rows,
        "query": query_text,
        "query_error": query_error,
        "result_count": count,
        "result_count_label": _count_label(count, count_capped, "result"),
        "total_label": (f"{count:,}+" if count_capped else f"{count:,}") if query_text else "",
        "more_than_page": count > len(rows) if query_text else has_older or has_newer,
        "search_words": found.query.highlight_words if found is not None else [],
        "newer_seq": rows[0].seq if rows and has_newer else None,
        "older_seq": rows[-1].seq if rows and has_older else None,
        # New mail is inserted live only where it belongs: the unfiltered first page
        # (and, through search/live.js, an open search's first page when it matches).
        "live_insert": not query_text and before is None and after is None,
        "live_search": bool(query_text) and not query_error and before is None and after is None,
        "last_seq": inbox.last_seq,
        "can_manage": can_manage(request.user, inbox.team_id),
        "tab": "messages",
        "auth_checks_enabled": settings.MAILDOG_AUTH_CHECKS,
    }
    return render(request, "inboxes/inbox.html", context)


@login_required
@require_GET
def search_matches(request, inbox_id):
    """Which of `ids` (comma-separated, at most 100) match the query `q`.

    Answers {"ids": [...], "words": [...], "prefixes": [...]}: the matching ids and what to mark in their rows.

    The open search page asks this about new mail before inserting it.
    """
    inbox = get_inbox(request.user, inbox_id)
    ids = [int(value) for value in request.GET.get("ids", "").split(",")[:100] if value.isdigit()]
    try:
        found = search(inbox.pk, request.GET.get("q", ""))
    except QueryError as error:
        return JsonResponse({"detail": str(error)}, status=400)
    matching = found.matching(ids) if ids else []
    words = found.query.highlight_words
    return JsonResponse(
        {
            "ids": sorted(matching),
            "words": [word for word, prefix in words if not prefix],
            "prefixes": [word for word, prefix in words if prefix],
        }
    )


def _back(request, inbox):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(inbox.get_absolute_url())


class _Selection:
    """What a bulk action applies to: the ticked rows, or every message matching the query ("all matching")."""

    def __init__(self, request, inbox):
        self.all_matching = request.POST.get("all_matching") == "1"
        self.inbox = inbox
        if self.all_matching:
            # The query is read again: a malformed one raises QueryError, shown by the caller.
            self.search = search(inbox.pk, request.POST.get("q", ""))
            self.ids = []
        else:
            self.search = None
            self.ids = [int(value) for value in request.POST.getlist("ids") if value.isdigit()]

    @property
    def empty(self) -> bool:
        return not self.all_matching and not self.ids

    def batches(self):
        """Querysets of at most BULK_BATCH messages each (a large result never in one statement)."""
        if self.search is None:
            yield Message.objects.filter(inbox=self.inbox, pk__in=self.ids)
            return
        ids = self.search.ids()
        for start in range(0, len(ids), BULK_BATCH):
            yield Message.objects.filter(inbox=self.inbox, pk__in=ids[start : start + BULK_BATCH])


def _bulk(request, inbox, action) -> int | None:
    """Run `action(queryset) -> count` on the selection; None (and a message) when there is nothing to do."""
    try:
        selection = _Selection(request, inbox)
    except QueryError as error:
        flash.error(request, f"Nothing was changed: {error}")
        return None
    if selection.empty:
        flash.info(request, "No messages selected.")
        return None
    count = 0
    with transaction.atomic():
        for batch in selection.batches():
            count += action(batch)
    return count


def _plural(count: int) -> str:
    return f"{count:,} message" + ("" if count == 1 else "s")


@login_required
@require_POST
def messages_mark(request, inbox_id, state):
    """Mark the selected messages (or all that match the query) read (`state` "read") or unread."""
    inbox = get_inbox(request.user, inbox_id)
    count = _bulk(request, inbox, lambda batch: batch.update(is_read=state == "read"))
    if count is not None:
        flash.success(request, f"Marked {_plural(count)} {state}.")
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
def inbox_mark_passing(request, inbox_id):
    """Whether the list marks passing mail too: the inbox's setting, for its whole team (any member).

    The page posts the checkbox as it changes (204); without script, the form's button sends it (back to the list).
    """
    inbox = get_inbox(request.user, inbox_id)
    Inbox.objects.filter(pk=inbox.pk).update(mark_passing_mail=request.POST.get("mark_passing_mail") == "1")
    if request.headers.get("X-Requested-With") == "fetch":
        return HttpResponse(status=204)
    return redirect("inboxes:inbox", inbox.pk)


@login_required
@require_POST
def messages_delete(request, inbox_id):
    """Delete the selected messages, or all that match the query (any member)."""
    inbox = get_inbox(request.user, inbox_id)
    count = _bulk(request, inbox, lambda batch: batch.delete()[0])
    if count is not None:
        flash.success(request, f"Deleted {_plural(count)}.")
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
