"""Content checks that know what a Django mistake looks like in a sent message.

- template leftovers ({{ }}, {% %}, {#) and the tell-tales of an empty or
  wrong context (None, [], {}, <QuerySet ...>, "object at 0x...", "Hi ,");
- links and images that point at a development host (localhost, 127.0.0.1,
  testserver, example.com: Django's default Site), plain http://, relative URLs,
  or elsewhere than the inbox's expected site URL;
- the text and HTML parts disagreeing;
- headers (Date, Message-ID, From, webmaster@localhost, no-reply Reply-To,
  List-Unsubscribe on bulk-looking mail);
- sizes (Gmail's 102 KB clipping, the whole message, images without alt,
  remote images over http).
"""

import ipaddress
import re
from email.utils import getaddresses, parsedate_to_datetime

from inboxes.mime.links import text_links
from inboxes.mime.reading import SHOWN_BODY_BYTES

from .findings import Findings, excerpt, split_url
from .scan import Scan, Url

# --- template leftovers -----------------------------------------------------------

DJANGO_TEMPLATES = "https://docs.djangoproject.com/en/stable/ref/templates/language/"
LEFTOVERS = [
    (
        re.compile(r"\{\{.{0,200}?\}\}|\{\{"),
        "error",
        "template-variable",
        "A template variable tag was sent as is",
        "The reader sees the template syntax instead of the value: the text was never rendered as a template "
        "(a string built by hand, format_html() on a template string, a {% verbatim %} block, or a template "
        "rendered by another engine).",
        "Render the text with render_to_string() or a Template and Context before sending.",
    ),
    (
        re.compile(r"\{%.{0,200}?%\}|\{%"),
        "error",
        "template-tag",
        "A template block tag was sent as is",
        "The reader sees {% … %}: the text never went through the template engine.",
        "Render the text with render_to_string() or a Template and Context before sending.",
    ),
    (
        re.compile(r"\{#.{0,200}?#\}|\{#"),
        "error",
        "template-comment",
        "A template comment was sent as is",
        "A {# comment #} is shown to the reader: the text never went through the template engine.",
        "Render the text as a template, or remove the comment.",
    ),
    (
        re.compile(r"<QuerySet \[|<QuerySet\b"),
        "error",
        "queryset-repr",
        "A QuerySet was rendered with its repr",
        "The template printed a QuerySet object ({{ items }}) instead of looping over it.",
        "Loop over the QuerySet ({% for item in items %}) and print the fields you mean.",
    ),
    (
        re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>|\bobject at 0x[0-9a-fA-F]{6,}"),
        "error",
        "object-repr",
        "A Python object was rendered with its default repr",
        "The reader sees '<… object at 0x…>': the template printed an object that has no __str__.",
        "Print a field of the object ({{ order.number }}) or give its class a __str__().",
    ),
    (
        re.compile(r"<bound method [^>]{0,200}>"),
        "error",
        "bound-method",
        "A method was rendered instead of its result",
        "The reader sees '<bound method …>'.",
        "Call the method in the view and pass its result in the context.",
    ),
    (
        re.compile(r"(?<![\w'\"])None(?!\s+(?:of|other|at all|whatsoever|left)\b)(?=\s*(?:$|[,.;:!?)\]<]))", re.M),
        "warning",
        "none-value",
        "'None' is shown where a value was expected",
        "A variable that was None in the context was printed: Django shows Python's None as 'None'.",
        'Pass the value in the context, or use {{ value|default:"…" }} / {% if value %}.',
    ),
    (
        re.compile(r"(?<![\w\]\[])(?:\[\]|\{\})(?![\w\[\]])"),
        "warning",
        "empty-container",
        "An empty list or dict ('[]' or '{}') is shown",
        "A variable holding an empty list or dict was printed instead of looping over it.",
        "Loop over the value ({% for %} … {% empty %}) or leave it out when it is empty.",
    ),
    (
        re.compile(r"\b(?:Hi|Hello|Hey|Dear|Welcome|Thanks|Thank you|Bonjour|Hallo|Hola|Ciao)\s+[,!.:]", re.I),
        "warning",
        "missing-name",
        "A greeting without a name",
        "The name was empty when the template was rendered (a missing context variable renders as '' in Django), "
        "so the reader sees 'Hi ,'.",
        'Pass the name in the context, or write {{ user.first_name|default:"there" }}.',
    ),
]


# What a text must contain for some patterns above to match: a substring test is far cheaper than the
# regex engine trying every position (the greeting pattern alone cost a quarter of a millisecond per
# 4 KB of text). Each test is true of every text its pattern can match in.
# The punctuation first, then a look back for the space: re scans for a leading set of characters in C,
# where a leading \s is tried at every position (44 against 24 µs per 4 KB of text).
_SPACE_THEN_PUNCTUATION = re.compile(r"[,!.:](?<=\s[,!.:])")
PREFILTERS = {
    "object-repr": lambda text: "object at 0x" in text,
    "none-value": lambda text: "None" in text,
    "empty-container": lambda text: "[]" in text or "{}" in text,
    "missing-name": lambda text: _SPACE_THEN_PUNCTUATION.search(text) is not None,
}


def _line_of(text: str, start_line: int, offset: int) -> int:
    return start_line + text.count("\n", 0, offset)


def check_leftovers(findings: Findings, part: str, chunks: list[tuple[str, int]]) -> None:
    """Search the text chunks (text, first line) of `part` for template leftovers and context tell-tales."""
    for text, start_line in chunks:
        for pattern, severity, check, what, why, fix in LEFTOVERS:
            required = PREFILTERS.get(check)
            if required is not None and not required(text):
                continue
            for match in pattern.finditer(text):
                line = _line_of(text, start_line, match.start())
                # The whole line for context, the match itself as the offending text.
                line_start = text.rfind("\n", 0, match.start()) + 1
                line_end = text.find("\n", match.end())
                context = text[line_start : line_end if line_end != -1 else len(text)]
                findings.add(
                    severity,
                    check,
                    what,
                    why,
                    fix,
                    part=part,
                    line=line,
                    text=match.group(0) if len(context.strip()) > 120 else context.strip(),
                )


# --- links and images -------------------------------------------------------------------

DEV_HOSTS = {"localhost", "testserver", "0.0.0.0", "127.0.0.1", "::1", "[::1]"}
EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")
DEV_SUFFIXES = (".localhost", ".local", ".test", ".internal", ".invalid")
NON_WEB_SCHEMES = ("mailto", "tel", "sms", "cid", "data")


def _host_problem(host: str) -> tuple[str, str, str] | None:
    """(check, what, why) when `host` is one that no reader can reach, else None."""
    host = host.lower().strip("[]").rstrip(".")
    if host in DEV_HOSTS or host.strip("[]") in DEV_HOSTS:
        if host == "testserver":
            return (
                "link-testserver",
                "points at testserver, the host of Django's test client",
                "The URL was built from a test request (request.build_absolute_uri() or {% url %} with the test "
                "client's host): readers cannot open it.",
            )
        return (
            "link-localhost",
            f"points at {host}, the sender's own machine",
            "On the reader's computer this is their own machine: the link is broken for everyone else.",
        )
    if host in EXAMPLE_DOMAINS or host.endswith(tuple("." + d for d in EXAMPLE_DOMAINS)):
        return (
            "link-example-domain",
            f"points at {host}, a reserved example domain",
            "example.com is the domain of Django's default Site (django.contrib.sites), used when the Site was "
            "never set up: links built with Site.objects.get_current() lead nowhere.",
        )
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and (address.is_private or address.is_loopback or address.is_link_local):
        return (
            "link-private-address",
            f"points at {host}, a private address",
            "Readers outside the sender's network cannot reach it.",
        )
    if host.endswith(DEV_SUFFIXES):
        return (
            "link-dev-domain",
            f"points at {host}, a development-only domain",
            "Domains under .localhost, .local, .test, .internal and .invalid do not resolve for readers.",
        )
    return None


def check_urls(findings: Findings, scan: Scan | None, text_links: list[tuple[str, int]], expected_site: str) -> None:
    """Links and images of the HTML (with lines), and URLs of the text part."""
    expected = split_url(expected_site) if expected_site else None
    items = [(u.url, u.kind, "html", u.line) for u in (scan.urls if scan else [])]
    items += [(url, "link", "text", line) for url, line in text_links]
    for url, kind, part, line in items:
        noun = {"image": "An image", "stylesheet": "A stylesheet", "form": "A form"}.get(kind, "A link")
        where = {"part": part, "line": line, "text": url}
        if url.startswith(("{{", "{%")):
            continue  # reported as a template leftover
        split = split_url(url)
        if split is None:
            findings.add(
                "error",
                "link-malformed",
                f"{noun} is not a valid URL",
                "Mail clients cannot open it (a broken bracket, a port out of range).",
                "Check how the URL is built; quote values with urlencode or django.utils.http.",
                **where,
            )
            continue
        scheme = split.scheme.lower()
        if url.startswith("#") or scheme in NON_WEB_SCHEMES:
            continue
        if scheme == "javascript":
            findings.add(
                "error",
                "link-javascript",
                f"{noun} uses javascript:",
                "Mail clients remove scripts; the link does nothing (or the message is marked as dangerous).",
                "Link to a page of your site instead.",
                **where,
            )
            continue
        if not scheme and not split.netloc:
            findings.add(
                "error",
                "link-relative",
                f"{noun} has a relative URL",
                "A message has no address of its own, so mail clients cannot resolve relative URLs: the link is "
                "broken. Django's {% url %} and reverse() give paths, not full URLs.",
                "Build absolute URLs: request.build_absolute_uri(path), or your site's base URL from a setting "
                "joined with the path.",
                **where,
            )
            continue
        host = split.hostname or ""
        problem = _host_problem(host)
        if problem is not None:
            check, what, why = problem
            findings.add(
                "error",
                check,
                f"{noun} {what}",
                why,
                "Build links from your production site URL (a setting such as SITE_URL, or the Site's domain), not "
                "from the request of a test or a development server.",
                **where,
            )
            continue
        if scheme == "http":
            remote_image = kind == "image"
            findings.add(
                "warning",
                "image-http" if remote_image else "link-http",
                f"{noun} uses plain http://",
                "Mail clients and browsers warn about or block insecure content; Gmail proxies images but marks "
                "them, and links over http can be read or changed on the way."
                if remote_image
                else "The reader's browser warns about (or upgrades) insecure links, and the URL can be read or "
                "changed on the way.",
                "Use https:// URLs (set SECURE_PROXY_SSL_HEADER behind a proxy so build_absolute_uri() says https).",
                **where,
            )
        if expected is not None and scheme in ("http", "https") and kind in ("link", "image", "form"):
            if host != (expected.hostname or "") or (expected.scheme == "https" and scheme != "https"):
                findings.add(
                    "warning",
                    "link-elsewhere",
                    f"{noun} points elsewhere than your site ({expected.scheme}://{expected.hostname})",
                    "This inbox expects links to your site; a different host is often a staging or preview URL "
                    "that leaked into the template.",
                    "Build the URL from your site's base URL; add hosts you mean to link to nowhere else.",
                    **where,
                )


# --- text and HTML ------------------------------------------------------------------

CODE = re.compile(r"(?<![\w/.#-])\d{4,8}(?![\w/.-])")
YEARS = re.compile(r"^(?:19|20)\d\d$")


def _normal_url(url: str) -> str:
    return url.strip().rstrip("/").lower()


def check_parts(findings: Findings, parsed, scan: Scan | None, text_links: list[tuple[str, int]]) -> None:
    text, html = parsed.text, parsed.html
    if html is not None and text is None:
        findings.add(
            "warning",
            "text-missing",
            "The message has an HTML part but no plain-text part",
            "Spam filters score HTML-only mail higher, and readers with text-only clients or screen readers get "
            "nothing readable.",
            "Send both: EmailMultiAlternatives with the text body and attach_alternative(html, 'text/html'), "
            "rendering a .txt template next to the .html one.",
            part="message",
        )
        return
    if html is None or text is None or scan is None:
        return
    html_links: dict[str, Url] = {}
    for found in scan.urls:
        if found.kind == "link" and found.url.lower().startswith(("http://", "https://")):
            html_links.setdefault(_normal_url(found.url), found)
    text_urls: dict[str, tuple[str, int]] = {}
    for url, line in text_links:
        text_urls.setdefault(_normal_url(url), (url, line))
    # Stripped tags: the text is the HTML's text (Django's strip_tags keeps <style> contents too).
    normal_text = " ".join(text.split())
    stripped = " ".join(" ".join(scan.all_text).split())
    shown = scan.shown_text()
    if normal_text and normal_text in (stripped, shown):
        findings.add(
            "warning",
            "text-is-stripped-html",
            "The text part is the HTML with its tags stripped",
            "Links lose their URLs (only their words are left), and layout text (menus, footers, CSS when "
            "<style> was stripped too) is run together: the text part is hard to read and its links cannot be "
            "followed.",
            "Write a text template of its own (email.txt next to email.html) rather than strip_tags(html).",
            part="text",
            text=excerpt(text, 120),
        )
    else:
        for key, link in html_links.items():
            if key not in text_urls:
                findings.add(
                    "warning",
                    "link-only-in-html",
                    "A link is in the HTML part but not in the text part",
                    "Readers of the text part (text-only clients, some watches and screen readers) cannot follow "
                    "it; for a reset or confirmation link that means they are stuck.",
                    "Add the same URL to the text template.",
                    part="html",
                    line=link.line,
                    text=link.url,
                )
    for key, (url, line) in text_urls.items():
        if key not in html_links and not any(key == _normal_url(u.url) for u in scan.urls):
            findings.add(
                "warning",
                "link-only-in-text",
                "A link is in the text part but not in the HTML part",
                "Most readers see the HTML part: the link is missing for them.",
                "Add the same URL to the HTML template.",
                part="text",
                line=line,
                text=url,
            )
    html_codes = {m.group(0) for chunk, _ in scan.texts for m in CODE.finditer(chunk) if not YEARS.match(m.group(0))}
    text_codes: dict[str, int] = {}
    for number, line in enumerate(text.split("\n"), 1):
        for m in CODE.finditer(line):
            if not YEARS.match(m.group(0)):
                text_codes.setdefault(m.group(0), number)
    for code in sorted(set(text_codes) - html_codes):
        findings.add(
            "warning",
            "code-only-in-text",
            "A code is in the text part but not in the HTML part",
            "Most readers see the HTML part: a verification or order code missing there leaves them stuck.",
            "Render the same context variable in both templates.",
            part="text",
            line=text_codes[code],
            text=code,
        )
    for code in sorted(html_codes - set(text_codes)):
        html_line = next((ln for chunk, ln in scan.texts if code in chunk), None)
        findings.add(
            "warning",
            "code-only-in-html",
            "A code is in the HTML part but not in the text part",
            "Readers of the text part do not get the code.",
            "Render the same context variable in both templates.",
            part="html",
            line=html_line,
            text=code,
        )


# --- headers -----------------------------------------------------------------------

NO_REPLY = re.compile(r"no[-_.]?reply|do[-_.]?not[-_.]?reply", re.I)
BULK_WORDS = re.compile(r"\bunsubscribe\b|\bnewsletter\b|\bmanage (?:your )?(?:email )?preferences\b", re.I)


def _may_say_bulk(body: str) -> bool:
    # A case-insensitive alternation is searched position by position in Python's re (some 50 µs on a
    # 4 KB body, for every message): these substrings rule most mail out first.
    lowered = body.lower()
    return "unsubscribe" in lowered or "newsletter" in lowered or "preferences" in lowered


def _addresses(value: str) -> list[str]:
    return [address for _name, address in getaddresses([value]) if address]


def check_headers(findings: Findings, parsed) -> None:
    where = {"part": "headers"}
    date = parsed.header("Date")
    if date is None:
        findings.add(
            "error",
            "date-missing",
            "The Date header is missing",
            "RFC 5322 requires it; Gmail and others reject or delay mail without a Date, and clients sort it wrongly.",
            "Send through Django's EmailMessage (it adds Date), or set the header.",
            **where,
        )
    else:
        try:
            parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError):
            findings.add(
                "error",
                "date-malformed",
                "The Date header is not a valid RFC 5322 date",
                "Receivers may reject the message or show the wrong time.",
                "Use email.utils.formatdate(localtime=True) (Django's EmailMessage does).",
                text=date,
                **where,
            )
    message_id = parsed.header("Message-ID")
    if message_id is None:
        findings.add(
            "error",
            "message-id-missing",
            "The Message-ID header is missing",
            "Gmail rejects mail without a valid Message-ID (550 5.7.1), and replies cannot be threaded.",
            "Send through Django's EmailMessage (it adds make_msgid()), or set the header.",
            **where,
        )
    elif not re.fullmatch(r"\s*<[^<>@\s]+@[^<>@\s]+>\s*", message_id):
        findings.add(
            "error",
            "message-id-malformed",
            "The Message-ID header is not of the form <id@domain>",
            "Receivers may reject the message as malformed; threading breaks.",
            "Use email.utils.make_msgid(domain=...) (Django's EmailMessage does).",
            text=message_id,
            **where,
        )
    sender = parsed.header("From")
    from_addresses = _addresses(sender or "")
    if sender is None:
        findings.add(
            "error",
            "from-missing",
            "The From header is missing",
            "RFC 5322 requires it; receivers reject the message.",
            "Set from_email (or DEFAULT_FROM_EMAIL).",
            **where,
        )
    elif any(a.lower() == "webmaster@localhost" for a in from_addresses):
        findings.add(
            "error",
            "from-django-default",
            "From is webmaster@localhost, Django's default DEFAULT_FROM_EMAIL",
            "The setting was never configured: receivers reject the domain 'localhost', and readers see a "
            "meaningless sender.",
            "Set DEFAULT_FROM_EMAIL (and SERVER_EMAIL for error mail) to an address on your domain.",
            text=sender,
            **where,
        )
    elif not from_addresses or not all("@" in a and "." in a.rsplit("@", 1)[1] for a in from_addresses):
        findings.add(
            "error",
            "from-malformed",
            "The From header has no valid address with a domain",
            "Receivers reject mail whose From cannot be checked (DMARC needs a From domain).",
            "Use a full address on your domain: 'Shop <orders@shop.example>'.",
            text=sender,
            **where,
        )
    reply_to = parsed.header("Reply-To")
    if reply_to and NO_REPLY.search(reply_to):
        findings.add(
            "warning",
            "reply-to-no-reply",
            "Reply-To is a no-reply address",
            "Replies go nowhere: readers who answer (to ask for help, to unsubscribe) are lost, and some filters "
            "score no-reply senders.",
            "Leave Reply-To out, or point it at a mailbox someone reads.",
            text=reply_to,
            **where,
        )
    precedence = (parsed.header("Precedence") or "").strip().lower()
    bulk_reasons = []
    if precedence in ("bulk", "list", "junk"):
        bulk_reasons.append(f"Precedence: {precedence}")
    if parsed.header("List-Id"):
        bulk_reasons.append("a List-Id header")
    body = (parsed.text or "") + " " + (parsed.html or "")[:200_000]
    if _may_say_bulk(body) and BULK_WORDS.search(body):
        bulk_reasons.append("an unsubscribe or newsletter mention in the body")
    if not bulk_reasons:
        return
    unsubscribe = parsed.header("List-Unsubscribe")
    why_bulk = " and ".join(bulk_reasons)
    if unsubscribe is None:
        findings.add(
            "error",
            "list-unsubscribe-missing",
            "Mail that looks bulk has no List-Unsubscribe header",
            f"It looks bulk ({why_bulk}). Since February 2024 Gmail and Yahoo require bulk senders to offer "
            "one-click unsubscribe (RFC 8058); without it mail goes to spam or is rejected.",
            "Add headers={'List-Unsubscribe': '<https://your.site/unsubscribe/TOKEN/>', "
            "'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click'} to the EmailMessage, and accept a POST there.",
            **where,
        )
        return
    post = (parsed.header("List-Unsubscribe-Post") or "").strip()
    if post.lower() != "list-unsubscribe=one-click" or "https://" not in unsubscribe.lower():
        findings.add(
            "error",
            "list-unsubscribe-post-missing",
            "List-Unsubscribe is not one-click: List-Unsubscribe-Post (or an https URL) is missing",
            f"It looks bulk ({why_bulk}). Gmail and Yahoo require RFC 8058 one-click unsubscribe: an https URL in "
            "List-Unsubscribe and 'List-Unsubscribe-Post: List-Unsubscribe=One-Click'.",
            "Add 'List-Unsubscribe-Post: List-Unsubscribe=One-Click' and an https URL that unsubscribes on POST.",
            text=unsubscribe + (f" / List-Unsubscribe-Post: {post}" if post else ""),
            **where,
        )


# --- sizes ---------------------------------------------------------------------------

GMAIL_CLIP_BYTES = 102 * 1024
TOTAL_WARNING_BYTES = 10 * 1024 * 1024
TOTAL_ERROR_BYTES = 25 * 1024 * 1024


def check_sizes(findings: Findings, parsed, scan: Scan | None, total_size: int) -> None:
    html_part = parsed.html_part
    if html_part is not None and parsed.html is not None:
        html_bytes = len(parsed.html.encode("utf-8"))
        if html_bytes >= SHOWN_BODY_BYTES // 2:
            # Maybe cut by the parser: the whole part as sent (less base64's third), without decoding it.
            sent = max(0, html_part.end - html_part.body_start)
            html_bytes = max(html_bytes, sent * 3 // 4 if html_part.encoding == "base64" else sent)
        if html_bytes > GMAIL_CLIP_BYTES:
            findings.add(
                "warning",
                "html-clipped",
                f"The HTML part is {html_bytes / 1024:,.0f} KB: Gmail clips it at 102 KB",
                "Gmail shows '[Message clipped] View entire message' and hides the rest, often the footer with the "
                "unsubscribe link and tracking pixel.",
                "Inline less CSS (remove unused rules), minify the HTML, and move long content to your site.",
                part="html",
                text=f"{html_bytes:,} bytes",
            )
    if total_size > TOTAL_ERROR_BYTES:
        findings.add(
            "error",
            "message-too-large",
            f"The message is {total_size / 1048576:,.1f} MB",
            "Gmail, Outlook.com and most providers refuse messages over 25 MB (attachments grow by a third in base64).",
            "Link to large files on your site instead of attaching them.",
            part="message",
            text=f"{total_size:,} bytes",
        )
    elif total_size > TOTAL_WARNING_BYTES:
        findings.add(
            "warning",
            "message-large",
            f"The message is {total_size / 1048576:,.1f} MB",
            "Many company mail servers refuse messages over 10 MB.",
            "Link to large files on your site instead of attaching them.",
            part="message",
            text=f"{total_size:,} bytes",
        )
    if scan is None:
        return
    for image in scan.images:
        if "alt" not in image.attrs:
            findings.add(
                "warning",
                "image-no-alt",
                "An image has no alt text",
                "Most clients block images until the reader allows them, and screen readers announce the file "
                "name: without alt the reader gets nothing.",
                'Add alt="…" describing the image (alt="" for spacers and decoration).',
                part="html",
                line=image.line,
                text=image.attrs.get("src", "<img>"),
            )


def text_chunks(text: str | None) -> list[tuple[str, int]]:
    return [(text, 1)] if text else []


# A path alone in the text part, as a {% url %} in a .txt template gives it: "/accounts/reset/MQ/abc/".
TEXT_PATH = re.compile(r"""(?:(?<=[\s:(<"'])|^)(/[\w.~%+-]+(?:/[\w.~%+=?&-]*)+)""", re.M)


def check_text_paths(findings: Findings, text: str | None) -> None:
    """Paths without a scheme and host in the text part: no mail client can open them."""
    if not text:
        return
    for number, line in enumerate(text.split("\n"), 1):
        if "/" not in line:  # most lines: the pattern's lookbehind would be tried at every position
            continue
        for match in TEXT_PATH.finditer(line):
            if "://" in line[max(0, match.start() - 80) : match.start()]:
                continue
            findings.add(
                "error",
                "link-relative",
                "The text part has a path without a host",
                "Django's {% url %} and reverse() give paths: in the text part the reader sees a path that no "
                "mail client can open.",
                "Build absolute URLs: request.build_absolute_uri(path), or your site's base URL from a setting "
                "joined with the path.",
                part="text",
                line=number,
                text=match.group(1),
            )


def text_urls(parsed) -> list[tuple[str, int]]:
    """The URLs of the text part (as `inboxes.mime` finds them) with their lines."""
    found: list[tuple[str, int]] = []
    if not parsed.text:
        return found
    for number, line in enumerate(parsed.text.split("\n"), 1):
        if "://" not in line:  # no http(s) URL can be in it
            continue
        for link in text_links(line):
            found.append((link.href, number))
    return found
