"""Links in a message's bodies: `<a href>` in the HTML (with the text they are shown with), URLs in the text.

The HTML is fed to the standard library's HTMLParser in chunks so that the
reading's time budget can stop it; links found until then are kept.
"""

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from .budgets import Notes

# Plain-text URLs: scheme up to the first whitespace or character that cannot
# end a URL in running text.
TEXT_URL = re.compile(r"""\bhttps?://[^\s<>"'`]+""", re.IGNORECASE)
TRAILING_PUNCTUATION = ".,;:!?'\""
# Link schemes Maildog's own pages may turn into real links; others (javascript:,
# data:, ...) are only shown as text.
SAFE_LINK_SCHEMES = ("http://", "https://", "mailto:")
CHUNK = 64 * 1024


@dataclass
class Link:
    """A link as the reader sees it: its target and the text it is shown with."""

    href: str
    text: str
    source: str  # "html" or "text"

    @property
    def clickable(self) -> bool:
        """Only web and mail links may become real links in Maildog's own pages."""
        return self.href.lower().startswith(SAFE_LINK_SCHEMES)


class _LinkCollector(HTMLParser):
    """Collects <a href> targets with the text inside the anchor."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[Link] = []
        self._open: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href is not None and href.strip():
                self._open.append((href.strip(), []))
        elif tag == "img" and self._open:
            # An image link reads as its alt text.
            alt = dict(attrs).get("alt")
            if alt:
                self._open[-1][1].append(alt)

    def handle_data(self, data):
        if self._open:
            self._open[-1][1].append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._open:
            self._close()

    def _close(self):
        href, text = self._open.pop()
        self.links.append(Link(href=href, text=" ".join("".join(text).split()), source="html"))

    def close(self):
        super().close()
        while self._open:  # unclosed anchors still count
            self._close()


def html_links(html: str, notes: Notes | None = None) -> list[Link]:
    collector = _LinkCollector()
    for offset in range(0, len(html), CHUNK):
        if notes is not None and notes.out_of_time(f"links after character {offset:,} of the HTML are not listed"):
            break
        collector.feed(html[offset : offset + CHUNK])
    collector.close()
    return collector.links


def _trim_url(url: str) -> str:
    """Drop trailing punctuation, and closing brackets the URL did not open: "(see https://example.com/a)"."""

    def without_punctuation(end: int) -> int:
        while end and url[end - 1] in TRAILING_PUNCTUATION:
            end -= 1
        return end

    end = without_punctuation(len(url))
    for opening, closing in ("()", "[]", "{}"):
        extra = url.count(closing, 0, end) - url.count(opening, 0, end)
        while extra > 0 and end and url[end - 1] == closing:
            end = without_punctuation(end - 1)
            extra -= 1
    return url[:end]


def text_links(text: str) -> list[Link]:
    return [Link(href=url, text="", source="text") for url in (_trim_url(m.group(0)) for m in TEXT_URL.finditer(text))]


def unique(links: list[Link]) -> list[Link]:
    seen = set()
    kept = []
    for link in links:
        key = (link.href, link.text, link.source)
        if key not in seen:
            seen.add(key)
            kept.append(link)
    return kept
