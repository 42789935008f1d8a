"""HTML and CSS compatibility of a message's HTML with email clients, from the caniemail data set.

`data/caniemail.json` is the data of caniemail.com (MIT License, see
`data/CANIEMAIL-LICENSE.md`), as published in the npm package `caniemail`;
`scripts/refresh_caniemail` updates it. For each feature (an HTML element or
attribute, a CSS property, value, unit, at-rule or selector, an image format)
the data says, per client (family and platform) and version, whether it is
supported ("y"), partially ("a"), not ("n") or unknown ("u"). Maildog uses the
latest tested version of each client, as caniemail.com's own summary does.

The features a message uses are found with the HTML scan (`reports.scan`) and
tinycss2 for <style> sheets and style="" attributes, with their line numbers.
"""

import json
import re
import time
from functools import lru_cache
from pathlib import Path

import tinycss2

from .findings import Findings
from .scan import Scan

DATA_FILE = Path(__file__).parent / "data" / "caniemail.json"
# Features found in clients of these families make a warning when unsupported there.
MAJOR_FAMILIES = ("gmail", "outlook", "apple-mail", "yahoo")
LINES_SHOWN = 5
SEMANTIC = {
    "article", "aside", "details", "figcaption", "figure", "footer", "header", "main", "mark", "nav", "section",
    "summary", "time",
}  # fmt: skip
LISTS = {"ul", "ol", "li", "dl", "dt", "dd"}
ATTRIBUTE_SLUGS = {
    "align": "html-align",
    "background": "html-background",
    "cellpadding": "html-cellpadding",
    "cellspacing": "html-cellspacing",
    "dir": "html-dir",
    "height": "html-height",
    "width": "html-width",
    "hidden": "html-hidden",
    "lang": "html-lang",
    "loading": "html-loading-attribute",
    "required": "html-required",
    "role": "html-role",
    "srcset": "html-srcset",
    "target": "html-target",
    "valign": "html-valign",
    "popover": "html-popover",
    "inert": "css-inert-attribute",
}
IMAGE_EXTENSIONS = {
    "png": "image-png", "jpg": "image-jpg", "jpeg": "image-jpg", "gif": "image-gif", "webp": "image-webp",
    "svg": "image-svg", "avif": "image-avif", "bmp": "image-bmp", "ico": "image-ico", "tif": "image-tiff",
    "tiff": "image-tiff", "apng": "image-apng", "heif": "image-heif", "heic": "image-heif",
}  # fmt: skip
CSS_FUNCTIONS = {
    "linear-gradient": "css-linear-gradient",
    "repeating-linear-gradient": "css-linear-gradient",
    "radial-gradient": "css-radial-gradient",
    "repeating-radial-gradient": "css-radial-gradient",
    "conic-gradient": "css-conic-gradient",
    "rgb": "css-rgb",
    "rgba": "css-rgba",
    "calc": "css-unit-calc",
    "var": "css-variables",
    "min": "css-function-min",
    "max": "css-function-max",
    "clamp": "css-function-clamp",
    "light-dark": "css-function-light-dark",
    "hsl": "css-modern-color",
    "hwb": "css-modern-color",
    "lab": "css-modern-color",
    "lch": "css-modern-color",
    "oklab": "css-modern-color",
    "oklch": "css-modern-color",
    "color-mix": "css-modern-color",
}
MEDIA_FEATURES = {
    "prefers-color-scheme": "css-at-media-prefers-color-scheme",
    "prefers-reduced-motion": "css-at-media-prefers-reduced-motion",
    "hover": "css-at-media-hover",
    "orientation": "css-at-media-orientation",
    "-webkit-device-pixel-ratio": "css-at-media-device-pixel-ratio",
    "min-resolution": "css-at-media-device-pixel-ratio",
    "resolution": "css-at-media-device-pixel-ratio",
}
# Features whose lack in a client changes nothing a reader sees (the document still renders the same):
# listed in the compatibility section, never a finding.
HARMLESS = {"html-doctype", "html-body", "html-lang", "html-role", "html-comments", "html-dir", "css-comments",
            "html-meta-color-scheme", "html-loading-attribute", "html-hidden"}  # fmt: skip
SIDES = re.compile(r"-(?:top|right|bottom|left)(?=-|$)")


@lru_cache(maxsize=1)
def dataset() -> dict:
    """The caniemail data: {"features": {slug: feature}, "nicenames": ..., "last_update_date": ...}."""
    with DATA_FILE.open(encoding="utf-8") as file:
        data = json.load(file)
    return {
        "features": {feature["slug"]: feature for feature in data["data"]},
        "nicenames": data["nicenames"],
        "last_update_date": data.get("last_update_date", ""),
        "api_version": data.get("api_version", ""),
    }


def client_name(family: str, platform: str) -> str:
    names = dataset()["nicenames"]
    return f"{names['family'].get(family, family)} {names['platform'].get(platform, platform)}"


def latest_support(stats: dict) -> dict[tuple[str, str], tuple[str, list[str]]]:
    """Per (family, platform): the support letter of its latest tested version, and the note numbers."""
    found = {}
    for family, platforms in stats.items():
        for platform, versions in platforms.items():
            if not versions:
                continue
            value = str(list(versions.values())[-1])
            letter = value[:1] or "u"
            found[(family, platform)] = (letter, re.findall(r"#(\d+)", value))
    return found


class _Used:
    """Features used: slug -> lines (first few) and count."""

    def __init__(self):
        self.lines: dict[str, list[int]] = {}
        self.count: dict[str, int] = {}

    def add(self, slug: str | None, line: int | None) -> None:
        if slug is None or slug not in dataset()["features"]:
            return
        self.count[slug] = self.count.get(slug, 0) + 1
        lines = self.lines.setdefault(slug, [])
        if line is not None and line not in lines and len(lines) < LINES_SHOWN:
            lines.append(line)


def _element_slugs(tag: str, attrs: dict) -> list[str]:
    if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
        slugs = ["html-h1-h6"]
    elif tag in LISTS:
        slugs = ["html-lists"]
    elif tag in SEMANTIC:
        slugs = ["html-semantics"]
    elif tag in ("s", "strike"):
        slugs = ["html-strike"]
    elif tag in ("map", "area"):
        slugs = ["html-image-maps"]
    elif tag == "button":
        slugs = [f"html-button-{attrs.get('type', 'submit').lower()}"]
    elif tag == "input":
        slugs = [f"html-input-{attrs.get('type', 'text').lower()}"]
    elif tag == "meta" and attrs.get("name", "").lower() in ("color-scheme", "supported-color-schemes"):
        slugs = ["html-meta-color-scheme"]
    else:
        slugs = [f"html-{tag}"]
    for name, value in attrs.items():
        if name in ATTRIBUTE_SLUGS:
            slugs.append(ATTRIBUTE_SLUGS[name])
        elif name.startswith("aria-"):
            slugs.append(f"html-{name}")
    href = attrs.get("href", "").strip().lower()
    if tag == "a" and href.startswith("#"):
        slugs.append("html-anchor-links")
    elif tag == "a" and href.startswith("mailto:"):
        slugs.append("html-mailto-links")
    src = attrs.get("src", "").strip().lower()
    if tag == "img" and src:
        if src.startswith("data:") and ";base64," in src[:100]:
            slugs.append("image-base64")
        extension = src.split("?", 1)[0].split("#", 1)[0].rsplit(".", 1)[-1]
        if extension in IMAGE_EXTENSIONS:
            slugs.append(IMAGE_EXTENSIONS[extension])
    return slugs


def _property_slug(name: str) -> str | None:
    features = dataset()["features"]
    if name.startswith("--"):
        return "css-variables"
    name = re.sub(r"^-(?:webkit|moz|ms|o)-", "", name)
    for candidate in (name, SIDES.sub("", name), name.rsplit("-", 1)[0]):
        if f"css-{candidate}" in features:
            return f"css-{candidate}"
    return None


def _value_features(used: _Used, name: str, tokens, line_of) -> None:
    idents = [t for t in tokens if t.type == "ident"]
    if name == "display":
        for token in idents:
            value = token.lower_value
            if value in ("flex", "inline-flex"):
                used.add("css-display-flex", line_of(token))
            elif value in ("grid", "inline-grid"):
                used.add("css-display-grid", line_of(token))
            elif value == "none":
                used.add("css-display-none", line_of(token))
    stack = list(tokens)
    while stack:
        token = stack.pop()
        if token.type == "function":
            used.add(CSS_FUNCTIONS.get(token.lower_name), line_of(token))
            stack.extend(token.arguments)
        elif token.type == "dimension":
            used.add(f"css-unit-{token.lower_unit}", line_of(token))
        elif token.type == "percentage":
            used.add("css-unit-percent", line_of(token))
        elif token.type == "ident" and token.lower_value in ("initial",):
            used.add("css-unit-initial", line_of(token))
        elif token.type in ("() block", "[] block", "{} block"):
            stack.extend(token.content)


def _declarations(used: _Used, nodes, line_of) -> None:
    for node in nodes:
        if node.type == "comment":
            used.add("css-comments", line_of(node))
        if node.type != "declaration":
            continue
        used.add(_property_slug(node.lower_name), line_of(node))
        if node.important:
            used.add("css-important", line_of(node))
        _value_features(used, node.lower_name, node.value, line_of)


def _selector_features(used: _Used, prelude, line_of) -> None:
    previous = None
    seen_compound = False
    for index, token in enumerate(prelude):
        line = line_of(token)
        if token.type == "literal":
            if token.value == ">":
                used.add("css-selector-child", line)
            elif token.value == "+":
                used.add("css-selector-adjacent-sibling", line)
            elif token.value == "~":
                used.add("css-selector-general-sibling", line)
            elif token.value == ",":
                used.add("css-selector-grouping", line)
                seen_compound = False
            elif token.value == "*":
                used.add("css-selector-universal", line)
            elif token.value == "." and index + 1 < len(prelude) and prelude[index + 1].type == "ident":
                used.add("css-selector-class", line)
            elif token.value == ":" and index + 1 < len(prelude):
                following = prelude[index + 1]
                double = previous is not None and previous.type == "literal" and previous.value == ":"
                name = getattr(following, "lower_value", None) or getattr(following, "lower_name", None)
                if name:
                    kind = "element" if double or name in ("before", "after", "first-line", "first-letter") else "class"
                    used.add(f"css-pseudo-{kind}-{name}", line)
        elif token.type == "hash":
            used.add("css-selector-id", line)
        elif token.type == "[] block":
            used.add("css-selector-attribute", line)
        elif token.type == "ident" and (previous is None or previous.type == "whitespace"):
            used.add("css-selector-type", line)
        if token.type == "whitespace" and seen_compound and index + 1 < len(prelude):
            following = prelude[index + 1]
            if not (following.type == "literal" and following.value in (">", "+", "~", ",")):
                used.add("css-selector-descendant", line)
        if token.type != "whitespace":
            seen_compound = not (token.type == "literal" and token.value in (">", "+", "~", ","))
        previous = token


def _stylesheet(used: _Used, rules, line_of, deadline: float) -> bool:
    for rule in rules:
        if time.monotonic() > deadline:
            return False
        if rule.type == "comment":
            used.add("css-comments", line_of(rule))
        elif rule.type == "qualified-rule":
            _selector_features(used, rule.prelude, line_of)
            _declarations(used, tinycss2.parse_blocks_contents(rule.content), line_of)
        elif rule.type == "at-rule":
            keyword = rule.lower_at_keyword
            used.add(f"css-at-{keyword}", line_of(rule))
            if keyword == "media":
                for token in rule.prelude:
                    if token.type == "() block":
                        for inner in token.content:
                            if inner.type == "ident" and inner.lower_value in MEDIA_FEATURES:
                                used.add(MEDIA_FEATURES[inner.lower_value], line_of(rule))
            if keyword in ("media", "supports") and rule.content is not None:
                inner = tinycss2.parse_rule_list(rule.content, skip_whitespace=True)
                if not _stylesheet(used, inner, line_of, deadline):
                    return False
            elif keyword == "font-face" and rule.content is not None:
                _declarations(used, tinycss2.parse_blocks_contents(rule.content), line_of)
    return True


def features_used(scan: Scan, deadline: float) -> tuple[_Used, list[str]]:
    """The caniemail features the HTML uses, with lines; and what the deadline cut."""
    used, cuts = _Used(), []
    if scan.doctype:
        used.add("html-doctype", 1)
    for line in scan.comments:
        used.add("html-comments", line)
    for element in scan.elements:
        for slug in _element_slugs(element.tag, element.attrs):
            used.add(slug, element.line)
    for css, start in scan.styles:
        rules = tinycss2.parse_stylesheet(css, skip_whitespace=True)
        if not _stylesheet(used, rules, lambda node, start=start: start + node.source_line - 1, deadline):
            cuts.append("The CSS was not checked to its end (time budget).")
            return used, cuts
    for index, (css, line) in enumerate(scan.inline_styles):
        if index % 200 == 0 and time.monotonic() > deadline:
            cuts.append(f'style="" attributes from line {line} on were not checked (time budget).')
            break
        _declarations(used, tinycss2.parse_blocks_contents(css), lambda node, line=line: line)
    return used, cuts


def check_compatibility(findings: Findings, scan: Scan, deadline: float) -> dict:
    """The compatibility section (features, clients, scores) and its findings."""
    data = dataset()
    used, cuts = features_used(scan, deadline)
    families: dict[str, dict[str, int]] = {}
    features = []
    for slug in sorted(used.count, key=lambda s: min(used.lines[s] or [0])):
        feature = data["features"][slug]
        support = latest_support(feature["stats"])
        unsupported, partial = [], []
        for (family, platform), (letter, notes) in support.items():
            tally = families.setdefault(family, {"supported": 0, "partial": 0, "unsupported": 0, "unknown": 0})
            name = client_name(family, platform)
            if letter == "y":
                tally["supported"] += 1
            elif letter == "a":
                tally["partial"] += 1
                notes_text = [feature.get("notes_by_num", {}).get(n, "") for n in notes]
                partial.append({"client": name, "family": family, "notes": [n for n in notes_text if n]})
            elif letter == "n":
                tally["unsupported"] += 1
                unsupported.append({"client": name, "family": family})
            else:
                tally["unknown"] += 1
        features.append(
            {
                "slug": slug,
                "title": feature["title"],
                "category": feature["category"],
                "url": feature["url"],
                "lines": used.lines[slug],
                "count": used.count[slug],
                "unsupported": unsupported,
                "partial": partial,
            }
        )
        major = sorted({c["client"] for c in unsupported if c["family"] in MAJOR_FAMILIES})
        if major and slug not in HARMLESS and not slug.startswith("html-aria-"):
            findings.add(
                "warning",
                "compat-unsupported",
                f"{feature['title']} is not supported by {', '.join(major[:4])}"
                + (f" and {len(major) - 4} more" if len(major) > 4 else ""),
                f"Used {used.count[slug]} time{'s' if used.count[slug] != 1 else ''}; these clients ignore it, "
                "so the message looks different (or broken) there.",
                f"Use a fallback these clients support (tables for layout, inline styles, VML for Outlook), or make "
                f"sure the message still reads well without it: {feature['url']}",
                part="html",
                line=used.lines[slug][0] if used.lines[slug] else None,
                lines=used.lines[slug],
                text=feature["title"],
            )
    scores = {}
    for family, tally in sorted(families.items()):
        known = tally["supported"] + tally["partial"] + tally["unsupported"]
        scores[family] = {
            "name": data["nicenames"]["family"].get(family, family),
            **tally,
            "score": round(100 * (tally["supported"] + 0.5 * tally["partial"]) / known) if known else None,
        }
    total = {key: sum(t[key] for t in families.values()) for key in ("supported", "partial", "unsupported")}
    known = sum(total.values())
    return {
        "data_version": data["last_update_date"],
        "features": features,
        "families": scores,
        "supported_pct": round(100 * total["supported"] / known, 1) if known else None,
        "partial_pct": round(100 * total["partial"] / known, 1) if known else None,
        "unsupported_pct": round(100 * total["unsupported"] / known, 1) if known else None,
        "cuts": cuts,
    }
