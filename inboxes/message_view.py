"""What only the web message page adds to `message_parts`: the document for the sandboxed frame.

Headers, bodies, the MIME tree, attachments and links are read by
`message_parts` (the same objects the API serialises); this module turns the
HTML body into the document the sandboxed frame shows and tells whether it
loads remote content.
"""

import base64
import re
from functools import cached_property
from urllib.parse import unquote

from . import message_parts

INLINE_IMAGE_LIMIT = 10 * 1024 * 1024  # bytes of cid: images inlined per message
CID_RE = re.compile(r"cid:([^\"'\s)>]+)", re.IGNORECASE)
REMOTE_RE = re.compile(
    r"""(?:src|background|srcset)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//""", re.IGNORECASE
)
HEAD_RE = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)


class MessageView:
    """One captured message as the page shows it; `parts` is what `message_parts.parse` read."""

    def __init__(self, raw: bytes):
        self.parts = message_parts.parse(raw)

    @property
    def errors(self) -> list[str]:
        return self.parts.errors

    @property
    def headers(self) -> list[message_parts.Header]:
        return self.parts.headers

    @property
    def html(self) -> str | None:
        """The HTML body, None when the message has none."""
        return self.parts.html if self.parts.has_html else None

    @property
    def text(self) -> str | None:
        """The plain-text body, None when the message has none."""
        return self.parts.text if self.parts.has_text else None

    @cached_property
    def tree(self) -> list[tuple[int, message_parts.Part]]:
        """The MIME tree as (depth, part), in the order the MIME tab lists it."""
        return list(message_parts.flatten(self.parts.root))

    @property
    def attachments(self) -> list[message_parts.Attachment]:
        return self.parts.attachments

    @property
    def files(self) -> list[message_parts.Attachment]:
        """Attachments that are files, not images shown inside the HTML body."""
        return [attachment for attachment in self.parts.attachments if not attachment.inline]

    @property
    def inline(self) -> list[message_parts.Attachment]:
        """Attachments shown inside the HTML body (by Content-ID)."""
        return [attachment for attachment in self.parts.attachments if attachment.inline]

    @property
    def links(self) -> list[message_parts.Link]:
        return self.parts.links

    # --- the HTML document served to the sandboxed frame ----------------------

    @property
    def has_remote_content(self) -> bool:
        return bool(self.html and REMOTE_RE.search(self.html))

    def _inline_images(self) -> dict[str, str]:
        """data: URLs of the message's images with a Content-ID, by lower-cased bare Content-ID."""
        images, budget = {}, INLINE_IMAGE_LIMIT
        for attachment in self.parts.attachments:
            if not (attachment.cid and attachment.content_type.startswith("image/")):
                continue
            data = self.parts.content(attachment.path) or b""
            if len(data) > budget:
                continue
            budget -= len(data)
            encoded = base64.b64encode(data).decode()
            images[attachment.cid.lower()] = f"data:{attachment.content_type};base64,{encoded}"
        return images

    def html_document(self) -> str:
        """The HTML body with `cid:` images inlined as data: URLs and links opening in a new tab.

        The images are inlined because the frame has an opaque origin: requests
        from it to Maildog carry no session cookie.
        """
        images = self._inline_images()

        def replace(match):
            key = unquote(match.group(1)).strip("<>").lower()
            return images.get(key, match.group(0))

        document = CID_RE.sub(replace, self.html or "")
        base = '<base target="_blank">'
        head = HEAD_RE.search(document)
        if head:
            return document[: head.end()] + base + document[head.end() :]
        return base + document
