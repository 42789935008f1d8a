"""The one way captured content leaves Maildog as a file: pages, API and admin all answer with `download()`.

Captured content is hostile: it is always an attachment (never rendered in
Maildog's origin), never sniffed, sandboxed if a browser opens it anyway, and
its file name, whatever the sender wrote, is encoded by Django's
`content_disposition_header` (RFC 6266 `filename*` for non-ASCII names).
"""

from django.http import HttpResponse
from django.utils.http import content_disposition_header

GENERIC_TYPE = "application/octet-stream"


def clean_filename(name: str, fallback: str) -> str:
    """A sender's file name without path separators or control characters; `fallback` when nothing is left."""
    cleaned = "".join(char for char in name if char.isprintable() and char not in "/\\").strip(" .")
    return cleaned[:255] or fallback


def download(content: bytes, filename: str, content_type: str = GENERIC_TYPE) -> HttpResponse:
    """`content` as a file download named `filename` (cleaned), with the headers every download carries."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, clean_filename(filename, "download"))
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    return response


def eml_download(message) -> HttpResponse:
    """A message's raw source, byte for byte as received, as `message-<id>.eml` (`raw` must be loaded)."""
    return download(bytes(message.raw), f"message-{message.pk}.eml", "message/rfc822")
