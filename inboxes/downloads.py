"""The one way captured content leaves Maildog as a file: pages, API and admin all answer with `download()`.

Captured content is hostile: a download is always an attachment (never
rendered in Maildog's origin), never sniffed, sandboxed if a browser opens it
anyway, and its file name, whatever the sender wrote, is encoded by Django's
`content_disposition_header` (RFC 6266 `filename*` for non-ASCII names).

The one exception is `preview()`: a raster image (PNG, JPEG, GIF, WebP, told
by its bytes, never by what the sender declared) is served inline with that
type, so that pages can show it in an `<img>`. Everything else, SVG included
(it can carry script), stays a download.
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


# Raster image types a preview may serve inline, each recognised by its first bytes.
PREVIEW_SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}


def image_type(content: bytes) -> str | None:
    """The safe raster image type of `content` by its signature (PNG, JPEG, GIF, WebP), or None."""
    for content_type, signatures in PREVIEW_SIGNATURES.items():
        if content.startswith(signatures):
            return content_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def previewable(declared: str) -> bool:
    """Whether a part declared as `declared` is worth offering as a preview (its bytes decide when served)."""
    declared = declared.strip().lower()
    return declared in ("image/png", "image/jpeg", "image/jpg", "image/pjpeg", "image/gif", "image/webp")


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


def preview(content: bytes, filename: str, content_type: str = GENERIC_TYPE) -> HttpResponse:
    """`content` inline as an image if its bytes are PNG, JPEG, GIF or WebP; otherwise the same as `download()`.

    The image keeps `nosniff` and a sandbox CSP (opened on its own, it is a
    document with no script and an opaque origin).
    """
    real_type = image_type(content)
    if real_type is None:
        return download(content, filename, content_type)
    response = HttpResponse(content, content_type=real_type)
    response["Content-Disposition"] = content_disposition_header(False, clean_filename(filename, "image"))
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    return response


def eml_download(message) -> HttpResponse:
    """A message's raw source, byte for byte as received, as `message-<id>.eml` (`raw` must be loaded)."""
    return download(bytes(message.raw), f"message-{message.pk}.eml", "message/rfc822")
