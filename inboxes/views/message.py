"""One message: its page (tabs), the sandboxed HTML, the raw source and its parts.

Every message is read by the one bounded parser (`inboxes.mime`): the page
lists what the reading budgets cut and what is wrong with the message, and the
raw source is always shown (the Raw tab up to RAW_TAB_BYTES, the plain-text and
.eml views whole). Captured HTML is hostile. It is served from its own URL with
a CSP sandbox (no script, opaque origin), framed by `<iframe sandbox>`, and
never inlined into Maildog's pages. Downloads are always attachments with
`nosniff`; a part or attachment download decodes only that part. The one
inline exception is an attachment's preview, served only when its bytes are a
PNG, JPEG, GIF or WebP image (`inboxes.downloads.preview`).

`?fragment=1` answers the page's message block alone (no layout): the inbox's
reading pane and the page's own tab switches fetch it and swap it in, so that
switching message or tab does not reload the page.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from .. import mime
from ..access import can_manage, get_message
from ..downloads import download, eml_download, preview
from ..mime.frame import frame_document
from ..models import Message

TABS = ["html", "text", "side", "headers", "raw", "mime", "attachments", "links", "envelope", "report"]
WIDTHS = {"desktop": "100%", "tablet": "768px", "phone": "375px"}
# The Raw tab shows this much of the source inline; "View as plain text" and the .eml have all of it.
RAW_TAB_BYTES = 1024 * 1024


def _frame_policy(remote: bool) -> str:
    """CSP for captured HTML: sandboxed (scripts and same-origin off), only popups for links.

    Images are data: URLs (inlined cid: parts) unless the user asked for remote
    images; stylesheets only inline (or remote on request); nothing else loads.
    """
    remote_sources = " https: http:" if remote else ""
    return (
        "sandbox allow-popups allow-popups-to-escape-sandbox; "
        "default-src 'none'; "
        f"img-src data:{remote_sources}; "
        f"style-src 'unsafe-inline'{remote_sources}; "
        "font-src data:; "
        "form-action 'none'; "
        "frame-ancestors 'self'"
    )


def _hardened(response):
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    return response


@login_required
@require_GET
def message(request, inbox_id, message_id):
    """The message page; `?tab=` chooses the view, `?width=` the HTML preview width."""
    message = get_message(request.user, inbox_id, message_id, with_raw=True)
    if not message.is_read:
        Message.objects.filter(pk=message.pk).update(is_read=True)
        message.is_read = True
    raw = message.raw
    parsed = mime.read(raw)
    tab = request.GET.get("tab", "")
    if tab not in TABS:
        tab = "html" if parsed.html is not None else "text"
    width = request.GET.get("width", "desktop")
    remote = request.GET.get("remote") == "1"
    frame_url = reverse("inboxes:message_html", args=[inbox_id, message_id]) + ("?remote=1" if remote else "")
    neighbours = Message.objects.filter(inbox_id=message.inbox_id).only("id", "inbox_id", "seq")
    newer = neighbours.filter(seq__gt=message.seq).order_by("seq").first()
    older = neighbours.filter(seq__lt=message.seq).order_by("-seq").first()
    context = {
        "inbox": message.inbox,
        "message": message,
        "parsed": parsed,
        "tab": tab,
        "tabs": TABS,
        "width": width if width in WIDTHS else "desktop",
        "frame_width": WIDTHS.get(width, "100%"),
        "widths": WIDTHS,
        "remote": remote,
        "frame_url": frame_url,
        "raw_text": raw[:RAW_TAB_BYTES].decode("utf-8", "replace") if tab == "raw" else "",
        "raw_cut": len(raw) > RAW_TAB_BYTES,
        "raw_tab_bytes": RAW_TAB_BYTES,
        "errors": list(dict.fromkeys(list(message.parse_errors or []) + parsed.errors)),
        "can_manage": can_manage(request.user, message.inbox.team_id),
        "auth_checks_enabled": settings.MAILDOG_AUTH_CHECKS,
        "message_url": message.get_absolute_url(),
        "newer": newer,
        "older": older,
        "fragment": request.GET.get("fragment") == "1",
    }
    template = "inboxes/_message.html" if context["fragment"] else "inboxes/message.html"
    return render(request, template, context)


@login_required
@require_GET
@xframe_options_sameorigin
def message_html(request, inbox_id, message_id):
    """The HTML part as its own document, for the sandboxed frame only."""
    message = get_message(request.user, inbox_id, message_id, with_raw=True)
    parsed = mime.ParsedMessage(message.raw)
    if parsed.html is None:
        raise Http404("This message has no HTML part.")
    response = HttpResponse(frame_document(parsed), content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = _frame_policy(request.GET.get("remote") == "1")
    return _hardened(response)


@login_required
@require_GET
def message_source(request, inbox_id, message_id):
    """The raw source as plain text, exactly the stored bytes."""
    message = get_message(request.user, inbox_id, message_id, with_raw=True)
    response = HttpResponse(message.raw, content_type="text/plain; charset=utf-8")
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return _hardened(response)


@login_required
@require_GET
def message_eml(request, inbox_id, message_id):
    """The raw source as a `.eml` download, byte for byte as received."""
    return eml_download(get_message(request.user, inbox_id, message_id, with_raw=True))


@login_required
@require_GET
def message_part(request, inbox_id, message_id, path):
    """One MIME part by its `path` in the tree ("1.2"; "0" is the whole message), decoded, as a download."""
    message = get_message(request.user, inbox_id, message_id, with_raw=True)
    parts = mime.ParsedMessage(message.raw)
    path = "" if path == "0" else path
    part = parts.part(path)
    content = parts.content(path)
    if part is None or content is None:
        raise Http404("No such part.")
    return download(content, part.filename or f"part-{path or 0}", part.content_type)


def _attachment(request, inbox_id, message_id, index):
    """The `index`-th attachment (the numbering of the page's Attachments tab and of the API): its bytes, name, type."""
    message = get_message(request.user, inbox_id, message_id, with_raw=True)
    found = mime.ParsedMessage(message.raw).attachment(index)
    if found is None:
        raise Http404("No such attachment.")
    attachment, content = found
    return content, attachment.filename or f"attachment-{index}", attachment.content_type


@login_required
@require_GET
def message_attachment(request, inbox_id, message_id, index):
    """The `index`-th attachment as a download."""
    return download(*_attachment(request, inbox_id, message_id, index))


@login_required
@require_GET
def message_attachment_preview(request, inbox_id, message_id, index):
    """The `index`-th attachment inline when it is a PNG, JPEG, GIF or WebP image (by its bytes), else a download."""
    return preview(*_attachment(request, inbox_id, message_id, index))
