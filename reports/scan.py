"""One pass over a message's HTML with the standard library's HTMLParser, keeping line numbers.

What the checks need: the elements with their attributes, the text shown
(outside <style>, <script>, <head> metadata), the style sheets and style=""
attributes, the links and images. The HTML is fed in chunks so that the
report's deadline can stop the pass; what was read until then is kept, and
what was cut is said in `cuts`.
"""

import time
from dataclasses import dataclass, field
from html.parser import HTMLParser

CHUNK = 32 * 1024
# Elements and text nodes kept per message (a 1 MB HTML body has fewer in practice).
MAX_ITEMS = 20_000
# Attributes that hold a URL, by element ("*": any element).
URL_ATTRIBUTES = {
    ("a", "href"): "link",
    ("area", "href"): "link",
    ("img", "src"): "image",
    ("link", "href"): "stylesheet",
    ("*", "background"): "image",
    ("input", "src"): "image",
    ("video", "poster"): "image",
    ("form", "action"): "form",
}
HIDDEN_CONTENT = {"style", "script", "title", "template"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    line: int


@dataclass
class Url:
    url: str
    kind: str  # link, image, stylesheet, form
    line: int
    text: str = ""  # for links: the text they are shown with


@dataclass
class Scan:
    elements: list[Element] = field(default_factory=list)
    texts: list[tuple[str, int]] = field(default_factory=list)  # shown text and its first line
    styles: list[tuple[str, int]] = field(default_factory=list)  # <style> contents and first line
    inline_styles: list[tuple[str, int]] = field(default_factory=list)  # style="" and line
    urls: list[Url] = field(default_factory=list)
    images: list[Element] = field(default_factory=list)
    comments: list[int] = field(default_factory=list)
    doctype: str | None = None
    cuts: list[str] = field(default_factory=list)
    all_text: list[str] = field(default_factory=list)  # every text node, <style> and <title> included

    def shown_text(self) -> str:
        return " ".join(" ".join(text for text, _ in self.texts).split())


class _Scanner(HTMLParser):
    def __init__(self, scan: Scan):
        super().__init__(convert_charrefs=True)
        self.scan = scan
        self._hidden: list[str] = []
        self._anchors: list[Url] = []
        self._full = False

    def _room(self) -> bool:
        if len(self.scan.elements) + len(self.scan.texts) < MAX_ITEMS:
            return True
        if not self._full:
            self._full = True
            self.scan.cuts.append(f"Only the first {MAX_ITEMS:,} elements and text nodes of the HTML were checked.")
        return False

    def handle_starttag(self, tag, attrs):
        if not self._room():
            return
        line = self.getpos()[0]
        values = {name.lower(): (value or "") for name, value in attrs}
        element = Element(tag, values, line)
        self.scan.elements.append(element)
        if "style" in values:
            self.scan.inline_styles.append((values["style"], line))
        for name, value in values.items():
            kind = URL_ATTRIBUTES.get((tag, name)) or URL_ATTRIBUTES.get(("*", name))
            if kind and value.strip():
                url = Url(value.strip(), kind, line)
                self.scan.urls.append(url)
                if tag == "a":
                    self._anchors.append(url)
        if tag == "img":
            self.scan.images.append(element)
            if self._anchors and values.get("alt"):
                self._anchors[-1].text += " " + values["alt"]
        if tag in HIDDEN_CONTENT:
            self._hidden.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in HIDDEN_CONTENT and self._hidden and self._hidden[-1] == tag:
            self._hidden.pop()

    def handle_endtag(self, tag):
        if self._hidden and self._hidden[-1] == tag:
            self._hidden.pop()
        if tag == "a" and self._anchors:
            anchor = self._anchors.pop()
            anchor.text = " ".join(anchor.text.split())

    def handle_data(self, data):
        if not data.strip() or not self._room():
            return
        line = self.getpos()[0]
        self.scan.all_text.append(data)
        if self._hidden:
            if self._hidden[-1] == "style":
                self.scan.styles.append((data, line))
            return
        self.scan.texts.append((data, line))
        for anchor in self._anchors:
            anchor.text += data

    def handle_comment(self, data):
        self.scan.comments.append(self.getpos()[0])

    def handle_decl(self, decl):
        self.scan.doctype = decl


def scan_html(html: str, deadline: float) -> Scan:
    """Scan `html` until done or `deadline` (time.monotonic()); a cut pass says so in `cuts`."""
    scan = Scan()
    scanner = _Scanner(scan)
    for offset in range(0, len(html), CHUNK):
        if time.monotonic() > deadline:
            scan.cuts.append(f"The HTML was checked up to character {offset:,} of {len(html):,} (time budget).")
            break
        scanner.feed(html[offset : offset + CHUNK])
    scanner.close()
    return scan
