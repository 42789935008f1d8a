"""Everything a message page shows, read from the raw bytes on demand.

Parts are numbered in document order (0 is the whole message), so a part can be
addressed by its number in a URL. Reading never raises on bad input: problems
are collected in `errors` and the page still shows the raw source.
"""

import base64
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from .mime import clean_text, parse

INLINE_IMAGE_LIMIT = 10 * 1024 * 1024  # bytes of cid: images inlined per message
CID_RE = re.compile(r"cid:([^\"'\s)>]+)", re.IGNORECASE)
REMOTE_RE = re.compile(
    r"""(?:src|background|srcset)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//""", re.IGNORECASE
)
TEXT_URL_RE = re.compile(r"""https?://[^\s<>"'\]\)]+""", re.IGNORECASE)
SAFE_LINK_SCHEMES = ("http://", "https://", "mailto:")


@dataclass
class Part:
    index: int
    depth: int
    content_type: str
    encoding: str
    charset: str
    size: int
    filename: str
    disposition: str
    content_id: str
    is_attachment: bool
    email_part: object = field(repr=False, default=None)

    def payload(self) -> bytes:
        return _payload(self.email_part)


@dataclass
class Link:
    url: str
    text: str
    source: str  # "html" or "text"

    @property
    def clickable(self) -> bool:
        """Only web and mail links become real links in Maildog's own pages."""
        return self.url.lower().startswith(SAFE_LINK_SCHEMES)


def _payload(part) -> bytes:
    if part.is_multipart():
        return b""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # a damaged transfer encoding: fall back to the undecoded bytes
        payload = None
    if payload is None:
        raw = part.get_payload()
        payload = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    return payload


def _text(part) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError, KeyError):
        content = _payload(part).decode("utf-8", "replace")
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return clean_text(content)


def _safe(getter, default=""):
    try:
        value = getter()
    except Exception:  # header parsing in the email package raises many types
        return default
    return default if value is None else value


class _LinkParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self._href = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self._href, self._text = href.strip(), []

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._text).split())))
            self._href = None


class MessageView:
    """A parsed view of one captured message."""

    def __init__(self, raw: bytes):
        self.raw = raw
        self.errors: list[str] = []
        self.parts: list[Part] = []
        self.message = None
        try:
            self.message = parse(raw)
        except Exception as exc:  # show the raw source and the reason, never a 500
            self.errors.append(f"The message could not be parsed: {exc}")
            return
        try:
            self._collect(self.message, 0)
        except Exception as exc:
            self.errors.append(f"The MIME structure could not be read completely: {exc}")

    def _collect(self, part, depth):
        disposition = _safe(part.get_content_disposition) or ""
        filename = clean_text(_safe(part.get_filename))
        content_type = _safe(part.get_content_type, "application/octet-stream")
        payload = b"" if part.is_multipart() else _payload(part)
        self.parts.append(
            Part(
                index=len(self.parts),
                depth=depth,
                content_type=content_type,
                encoding=clean_text(
                    _safe(lambda: part.get("Content-Transfer-Encoding")) or ("" if part.is_multipart() else "7bit")
                ),
                charset=_safe(part.get_content_charset) or "",
                size=len(payload),
                filename=filename,
                disposition=disposition,
                content_id=clean_text(_safe(lambda: part.get("Content-ID"))).strip().strip("<>"),
                is_attachment=not part.is_multipart() and (disposition == "attachment" or bool(filename)),
                email_part=part,
            )
        )
        if part.is_multipart():
            for sub in part.get_payload():
                self._collect(sub, depth + 1)

    # --- headers and bodies -------------------------------------------------

    @property
    def headers(self) -> list[tuple[str, str]]:
        if self.message is None:
            return []
        items = []
        for name, value in self.message.raw_items():
            items.append(
                (
                    clean_text(name),
                    clean_text(_safe(lambda: str(self.message.policy.header_fetch_parse(name, value)), value)),
                )
            )
        return items

    def _body(self, subtype):
        if self.message is None:
            return None
        part = _safe(lambda: self.message.get_body(preferencelist=(subtype,)), None)
        if part is None or part.get_content_subtype() != subtype:
            return None
        return _text(part)

    @property
    def html(self) -> str | None:
        if not hasattr(self, "_html"):
            self._html = self._body("html")
        return self._html

    @property
    def text(self) -> str | None:
        if not hasattr(self, "_plain"):
            self._plain = self._body("plain")
        return self._plain

    @property
    def attachments(self) -> list[Part]:
        return [part for part in self.parts if part.is_attachment]

    def part(self, index: int) -> Part | None:
        return self.parts[index] if 0 <= index < len(self.parts) else None

    # --- links ---------------------------------------------------------------

    @property
    def links(self) -> list[Link]:
        """Links from the HTML part (with their text), then URLs found in the text part."""
        found, seen = [], set()
        if self.html:
            parser = _LinkParser()
            try:
                parser.feed(self.html)
                parser.close()
            except AssertionError as exc:  # HTMLParser's only complaint about broken markup
                self.errors.append(f"The HTML could not be read completely: {exc}")
            for url, text in parser.links:
                if ("html", url) not in seen:
                    seen.add(("html", url))
                    found.append(Link(url, text, "html"))
        for url in TEXT_URL_RE.findall(self.text or ""):
            url = url.rstrip(".,;:!?")
            if ("text", url) not in seen:
                seen.add(("text", url))
                found.append(Link(url, "", "text"))
        return found

    # --- the HTML document served to the sandboxed frame ----------------------

    @property
    def has_remote_content(self) -> bool:
        return bool(self.html and REMOTE_RE.search(self.html))

    def _inline_images(self) -> dict[str, str]:
        images, budget = {}, INLINE_IMAGE_LIMIT
        for part in self.parts:
            if part.content_id and part.content_type.startswith("image/"):
                data = part.payload()
                if len(data) > budget:
                    continue
                budget -= len(data)
                images[part.content_id.lower()] = f"data:{part.content_type};base64,{base64.b64encode(data).decode()}"
        return images

    def html_document(self) -> str:
        """The HTML part with `cid:` images inlined as data: URLs and links opening in a new tab.

        The images are inlined because the frame has an opaque origin: requests
        from it to Maildog carry no session cookie.
        """
        images = self._inline_images()

        def replace(match):
            from urllib.parse import unquote

            key = unquote(match.group(1)).strip("<>").lower()
            return images.get(key, match.group(0))

        document = CID_RE.sub(replace, self.html or "")
        base = '<base target="_blank">'
        head = re.search(r"<head(\s[^>]*)?>", document, re.IGNORECASE)
        if head:
            return document[: head.end()] + base + document[head.end() :]
        return base + document
