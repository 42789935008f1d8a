"""The HTML body as the document of the message page's sandboxed frame.

`cid:` images are inlined as data: URLs (the frame has an opaque origin, so
requests from it to Maildog carry no session cookie), up to INLINE_IMAGE_LIMIT
bytes per message; links open in a new tab.
"""

import base64
import re
from urllib.parse import unquote

from . import content
from .reading import ParsedMessage

INLINE_IMAGE_LIMIT = 10 * 1024 * 1024  # bytes of cid: images inlined per message
CID_RE = re.compile(r"cid:([^\"'\s)>]+)", re.IGNORECASE)
HEAD_RE = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)


def _inline_images(message: ParsedMessage) -> dict[str, str]:
    """data: URLs of the message's images with a Content-ID, by lower-cased bare Content-ID."""
    images, budget = {}, INLINE_IMAGE_LIMIT
    for node in message.attachment_parts:
        if not (node.cid and node.content_type.startswith("image/")):
            continue
        if len(content.encoded(message.raw, node)) > budget * 2:  # cannot fit, whatever its encoding
            continue
        data = content.decoded(message.raw, node, message.notes) or b""
        if len(data) > budget:
            continue
        budget -= len(data)
        images[node.cid.lower()] = f"data:{node.content_type};base64,{base64.b64encode(data).decode()}"
    return images


def frame_document(message: ParsedMessage) -> str:
    """The HTML body with `cid:` images inlined as data: URLs and links opening in a new tab."""
    images = _inline_images(message)

    def replace(match):
        key = unquote(match.group(1)).strip("<>").lower()
        return images.get(key, match.group(0))

    document = CID_RE.sub(replace, message.html or "")
    base = '<base target="_blank">'
    head = HEAD_RE.search(document)
    if head:
        return document[: head.end()] + base + document[head.end() :]
    return base + document
