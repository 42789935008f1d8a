"""The one way captured content leaves Maildog as a file: pages, API and admin all answer with `download()`.

Captured content is hostile: it is always an attachment (never rendered in
Maildog's origin), never sniffed, sandboxed if a browser opens it anyway, and
its file name, whatever the sender wrote, is encoded by Django's
`content_disposition_header` (RFC 6266 `filename*` for non-ASCII names).
"""

from django.http import HttpResponse
from django.utils.http import content_disposition_header

GENERIC_TYPE = "application/octet-stream"
# Types a browser would run or render as a document if it ever opened one inline:
# served as the generic type whatever the sender declared.
ACTIVE_TYPES = ("text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml")


def served_type(declared: str) -> str:
    """The sender's content type, unless it is one a browser could treat as a page or script."""
    declared = declared.strip().lower()
    if not declared or declared in ACTIVE_TYPES or "script" in declared or "/" not in declared:
        return GENERIC_TYPE
    return declared


def clean_filename(name: str, fallback: str) -> str:
    """A sender's file name without path separators or control characters; `fallback` when nothing is left."""
    cleaned = "".join(char for char in name if char.isprintable() and char not in "/\\").strip(" .")
    return cleaned[:255] or fallback


def download(content: bytes, filename: str, content_type: str = GENERIC_TYPE) -> HttpResponse:
    """`content` as a file download named `filename` (cleaned), with the headers every download carries."""
    response = HttpResponse(content, content_type=served_type(content_type))
    response["Content-Disposition"] = content_disposition_header(True, clean_filename(filename, "download"))
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    return response


def eml_download(message) -> HttpResponse:
    """A message's raw source, byte for byte as received, as `message-<id>.eml` (`raw` must be loaded)."""
    return download(bytes(message.raw), f"message-{message.pk}.eml", "message/rfc822")
