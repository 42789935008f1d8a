"""Taking messages apart: bodies, MIME tree, attachments, links; broken input never raises."""

import pytest

from inboxes.mime import ParsedMessage
from inboxes.mime import read as parse
from inboxes.mime.links import html_links, text_links


def attachment(raw, index):
    return ParsedMessage(raw).attachment(index)


def flatten(parts):
    return parts.tree


MULTIPART = (
    b"From: App <app@example.com>\r\nTo: ann@example.com\r\nSubject: =?utf-8?q?Caf=C3=A9?=\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n"
    b"--outer\r\nContent-Type: multipart/related; boundary=rel\r\n\r\n"
    b"--rel\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n"
    b"--alt\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"Caf=E9: https://example.com/menu.\r\n"
    b"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    b'<a href="https://example.com/menu?a=1&amp;b=2">The <i>menu</i></a><img src="cid:logo@x">\r\n'
    b"--alt--\r\n"
    b"--rel\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"iVBORw0KGgo=\r\n--rel--\r\n"
    b"--outer\r\nContent-Type: message/rfc822\r\n\r\nSubject: forwarded\r\n\r\ninner body\r\n"
    b"--outer--\r\n"
)


def test_headers_are_decoded_in_order():
    parts = parse(MULTIPART)
    assert [(h.name, h.value) for h in parts.headers[:3]] == [
        ("From", "App <app@example.com>"),
        ("To", "ann@example.com"),
        ("Subject", "Café"),
    ]


def test_bodies_are_decoded_with_their_charsets():
    parts = parse(MULTIPART)
    assert parts.text == "Café: https://example.com/menu."
    assert parts.html.startswith('<a href="https://example.com/menu?a=1&amp;b=2">')


def test_tree_and_attachments():
    parts = parse(MULTIPART)
    tree = [(depth, part.path, part.content_type) for depth, part in flatten(parts)]
    assert tree == [
        (0, "", "multipart/mixed"),
        (1, "1", "multipart/related"),
        (2, "1.1", "multipart/alternative"),
        (3, "1.1.1", "text/plain"),
        (3, "1.1.2", "text/html"),
        (2, "1.2", "image/png"),
        (1, "2", "message/rfc822"),
        (2, "2.1", "text/plain"),
    ]
    text_part = next(part for _, part in flatten(parts) if part.path == "1.1.1")
    assert (text_part.charset, text_part.encoding) == ("iso-8859-1", "quoted-printable")
    assert [(a.index, a.path, a.content_type, a.content_id, a.size) for a in parts.attachments] == [
        (0, "1.2", "image/png", "<logo@x>", 8),
        (1, "2", "message/rfc822", "", len(b"Subject: forwarded\r\n\r\ninner body")),  # as sent
    ]
    found, content = attachment(MULTIPART, 0)
    assert content == b"\x89PNG\r\n\x1a\n"
    assert attachment(MULTIPART, 1)[1].startswith(b"Subject: forwarded")
    assert attachment(MULTIPART, 2) is None


def test_links_from_html_and_text():
    parts = parse(MULTIPART)
    assert [(link.href, link.text, link.source) for link in parts.links] == [
        ("https://example.com/menu?a=1&b=2", "The menu", "html"),
        ("https://example.com/menu", "", "text"),
    ]


def test_html_links_take_image_alt_text_and_close_unclosed_anchors():
    links = html_links('<a href="/a"><img alt="Logo"></a><a href=" /b ">unclosed <b>text')
    assert [(link.href, link.text) for link in links] == [("/a", "Logo"), ("/b", "unclosed text")]


@pytest.mark.parametrize(
    "text, urls",
    [
        ("Go to https://x.example/a.", ["https://x.example/a"]),
        (
            "(see https://x.example/a_(b)) and http://y.example/?q=1,",
            ["https://x.example/a_(b)", "http://y.example/?q=1"],
        ),
        ('"https://x.example/q"', ["https://x.example/q"]),
        ("no links here, just ftp://x", []),
    ],
)
def test_text_urls(text, urls):
    assert [link.href for link in text_links(text)] == urls


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage without headers",
        b"Subject: =?unknown-8?b?////?=\r\nContent-Type: text/plain; charset=bogus\r\n\r\n\xff\xfe",
        b"Content-Type: multipart/mixed\r\n\r\nno boundary at all",
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Transfer-Encoding: base64\r\n\r\n%%%\r\n",
        b"Content-Type: text/html\r\n\r\n<a href='http://u'>never closed <script>",
        b"Date: not a date\r\nFrom: <<<@>>>\r\nTo: ,,,\r\n\r\nx",
    ],
)
def test_broken_mime_never_raises(raw):
    parts = parse(raw)
    assert parts.root is not None
    assert isinstance(parts.errors, list)


def test_bad_base64_is_reported():
    raw = (
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: application/pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n%%%\r\n--x--\r\n"
    )
    assert any("Base64" in error for error in parse(raw).errors)


def test_parts_and_their_contents_by_path():
    parts = parse(MULTIPART)
    assert parts.part("1.2").content_type == "image/png" and parts.part("1.2").cid == "logo@x"
    assert parts.content("1.2") == b"\x89PNG\r\n\x1a\n"
    assert parts.content("1.1.1") == "Café: https://example.com/menu.".encode("iso-8859-1")
    assert parts.content("2").startswith(b"Subject: forwarded")  # an attached message as itself
    assert parts.content("2.1") == b"inner body"
    assert parts.part("") is parts.root and parts.content("") is None  # a container has no content
    assert parts.content("1") is None
    for missing in ("3", "1.3", "1.1.1.1", "x", "1..2"):
        assert parts.part(missing) is None and parts.content(missing) is None


def test_single_part_message_is_its_own_content():
    raw = b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n"
    parts = parse(raw)
    assert [(a.index, a.path, a.inline) for a in parts.attachments] == [(0, "", False)]
    assert parts.content("") == b"%PDF-" == parts.attachment(0)[1]
    assert (parts.text, parts.html) == (None, None)


def test_inline_images_are_attachments_marked_inline():
    parts = parse(MULTIPART)
    assert [(a.path, a.inline, a.cid) for a in parts.attachments] == [("1.2", True, "logo@x"), ("2", False, "")]
    raw = (
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        b"--x\r\nContent-Type: image/png\r\nContent-ID: <a@b>\r\nContent-Disposition: attachment; filename=a.png\r\n"
        b"\r\nPNG\r\n--x--\r\n"
    )
    [shown_as_file] = parse(raw).attachments
    assert (shown_as_file.filename, shown_as_file.cid, shown_as_file.inline) == ("a.png", "a@b", False)


@pytest.mark.parametrize(
    "href, clickable",
    [
        ("https://x.example/", True),
        ("HTTP://x.example/", True),
        ("mailto:ann@example.com", True),
        ("javascript:alert(1)", False),
        ("data:text/html,hi", False),
        ("/relative", False),
    ],
)
def test_only_web_and_mail_links_are_clickable(href, clickable):
    [link] = html_links(f'<a href="{href}">x</a>')
    assert link.clickable is clickable


# --- headers: RFC 2047 with RFC 6532, within budgets -----------------------------


@pytest.mark.parametrize(
    "value, shown",
    [
        ("=?UTF-8?Q?J=C3=BCrgen?= <a@x.test>, josé@x.test", "Jürgen <a@x.test>, josé@x.test"),
        ("=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= – x", "Grüße – x"),
        ("=?utf-8?q?a?= =?utf-8?q?b?=", "ab"),  # space between two encoded-words is not text
        ("=?utf-8?b?w6k=?= and =?iso-8859-1?q?caf=E9?=", "é and café"),
        ("=?utf-8?q?=C3?==?utf-8?q?=A9?=", "é"),  # one character split over two words
        ("=?utf-8?q?under_score?=", "under score"),
        ("=?no-such-charset?q?x?= y", "=?no-such-charset?q?x?= y"),
        ("=?punycode?q?abc-?=", "=?punycode?q?abc-?="),  # a slow codec is never used
    ],
)
def test_header_values_read_as_people_read_them(value, shown):
    raw = f"Subject: {value}\r\n\r\nbody\r\n".encode()
    assert parse(raw).headers[0].value == shown


def test_summary_and_page_decode_headers_alike():
    from inboxes.mime import summarize

    raw = "From: =?UTF-8?Q?J=C3=BCrgen?= <a@x.test>, josé@x.test\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= – x\r\n\r\n"
    summary, page = summarize(raw.encode()), parse(raw.encode())
    assert (summary.from_header, summary.subject) == ("Jürgen <a@x.test>, josé@x.test", "Grüße – x")
    assert [header.value for header in page.headers] == [summary.from_header, summary.subject]


def test_encoded_words_past_the_budget_are_shown_as_sent(settings):
    settings.MAILDOG_PARSE_MAX_ENCODED_WORDS = 3
    raw = b"Subject: =?utf-8?q?a?= =?utf-8?q?b?= =?utf-8?q?c?= =?utf-8?q?d?=\r\n\r\n"
    parts = parse(raw)
    assert parts.headers[0].value == "abc =?utf-8?q?d?="
    assert parts.cuts == [
        "The Subject header has more than 3 encoded-words: only the first 3 are decoded "
        "(MAILDOG_PARSE_MAX_ENCODED_WORDS), the rest is shown as sent."
    ]


def test_long_header_is_cut_to_the_budget(settings):
    settings.MAILDOG_PARSE_MAX_HEADER_BYTES = 10
    parts = parse(b"X-Long: 0123456789abcdef\r\nSubject: ok\r\n\r\n")
    assert [(header.name, header.value) for header in parts.headers] == [("X-Long", "012345678"), ("Subject", "ok")]
    assert "The X-Long header of the message is 17 bytes long" in parts.cuts[0]


# --- structure: budgets and damage ---------------------------------------------------


def nested(depth):
    raw = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (n, n) for n in range(depth))
    return (
        raw
        + b"Content-Type: text/plain\r\n\r\nbottom\r\n"
        + b"".join(b"--b%d--\r\n" % n for n in reversed(range(depth)))
    )


def test_deep_nesting_is_cut_at_the_depth_budget_without_recursion(settings):
    import sys

    settings.MAILDOG_PARSE_MAX_DEPTH = 5
    parts = parse(nested(sys.getrecursionlimit() * 2))
    assert max(depth for depth, _ in parts.tree) == 5 and len(parts.tree) == 6
    assert parts.cuts == [
        "MIME nested deeper than 5 levels (MAILDOG_PARSE_MAX_DEPTH): parts below level 5 are not shown; "
        "the raw source has them."
    ]
    assert parts.errors == [] and parts.text is None
    settings.MAILDOG_PARSE_MAX_DEPTH = 50
    assert parse(nested(10)).text == "bottom" and parse(nested(10)).cuts == []


def test_parts_past_the_budget_are_not_read(settings):
    settings.MAILDOG_PARSE_MAX_PARTS = 3
    raw = b"Content-Type: multipart/mixed; boundary=x\r\n\r\n" + b"--x\r\n\r\npart\r\n" * 5 + b"--x--\r\n"
    parts = parse(raw)
    assert [part.path for _, part in parts.tree] == ["", "1", "2"]
    assert parts.cuts == [
        "More than 3 MIME parts (MAILDOG_PARSE_MAX_PARTS): only the first 3 are shown; the raw source has the rest."
    ]
    assert parts.content("2") == b"part"


def test_decoded_bytes_budget(settings):
    settings.MAILDOG_PARSE_MAX_DECODED_BYTES = 20
    raw = b"Content-Type: multipart/mixed; boundary=x\r\n\r\n" + b"--x\r\n\r\n0123456789abcdef\r\n" * 2 + b"--x--\r\n"
    parts = parse(raw)
    assert parts.text == "0123456789abcdef"
    assert [part.size for _, part in parts.tree[1:]] == [16, 16]  # sent as is: measured without decoding
    assert parts.content("2") is None
    assert "More than 20 bytes to decode (MAILDOG_PARSE_MAX_DECODED_BYTES)" in parts.cuts[0]


def test_time_budget_stops_reading_and_says_so(settings):
    settings.MAILDOG_PARSE_TIME_LIMIT = 0
    parts = parse(MULTIPART)
    assert parts.cuts and parts.cuts[0].startswith("Reading stopped after 0 s (MAILDOG_PARSE_TIME_LIMIT)")


def test_an_outer_boundary_ends_an_unclosed_inner_multipart():
    raw = (
        b"Content-Type: multipart/mixed; boundary=out\r\n\r\n--out\r\n"
        b"Content-Type: multipart/alternative; boundary=outer\r\n\r\n--outer\r\n\r\ninner\r\n"
        b"--out\r\nContent-Type: application/pdf\r\n\r\nPDF\r\n--out--\r\n"
    )
    parts = parse(raw)
    assert [(part.path, part.content_type) for _, part in parts.tree] == [
        ("", "multipart/mixed"),
        ("1", "multipart/alternative"),
        ("1.1", "text/plain"),
        ("2", "application/pdf"),
    ]
    assert parts.content("1.1") == b"inner" and parts.content("2") == b"PDF"
    assert any("CloseBoundaryNotFoundDefect" in error for error in parts.errors)


def test_digest_parts_are_messages_and_mbox_from_line_is_skipped():
    raw = (
        b"From someone Mon Jan  1 00:00:00 2024\r\nSubject: digest\r\n"
        b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: one\r\n\r\nfirst\r\n--d--\r\n"
    )
    parts = parse(raw)
    assert parts.headers[0].value == "digest"
    assert [(part.path, part.content_type) for _, part in parts.tree] == [
        ("", "multipart/digest"),
        ("1", "message/rfc822"),
        ("1.1", "text/plain"),
    ]
    assert parts.content("1.1") == b"first"


def test_rfc2231_and_encoded_word_file_names():
    raw = (
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n\r\nA\r\n"
        b'--x\r\nContent-Type: application/pdf; name="=?utf-8?q?caf=C3=A9.pdf?="\r\n\r\nB\r\n--x--\r\n'
    )
    assert [attachment.filename for attachment in parse(raw).attachments] == ["résumé.pdf", "café.pdf"]


def test_one_definition_of_attachment_for_the_list_and_the_page():
    from inboxes.mime import summarize

    related = (
        b"Content-Type: multipart/related; boundary=r\r\n\r\n--r\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n"
        b"--r\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n--r--\r\n"
    )
    alternative = (
        b"Content-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        b"--a\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n--a--\r\n"
    )
    for raw, expected in (
        (related, ["application/pdf"]),
        (alternative, []),
        (MULTIPART, ["image/png", "message/rfc822"]),
    ):
        assert [attachment.content_type for attachment in parse(raw).attachments] == expected
        assert summarize(raw).has_attachments is bool(expected)


def test_big_body_is_shown_cut_and_downloads_whole():
    from inboxes.mime.reading import SHOWN_BODY_BYTES

    body = b"x" * (SHOWN_BODY_BYTES + 10)
    parts = parse(b"Content-Type: text/plain\r\n\r\n" + body)
    assert len(parts.text) == SHOWN_BODY_BYTES
    assert parts.cuts == [
        f"The text body (part 0 (text/plain)) is {len(body):,} bytes: only its first {SHOWN_BODY_BYTES:,} are "
        "shown; download the part for all of it."
    ]
    assert parts.content("") == body


def test_overlong_boundary_is_not_used():
    boundary = b"x" * 201
    raw = b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n--' + boundary + b"\r\n\r\nhi\r\n"
    parts = parse(raw)
    assert [part.path for _, part in parts.tree] == [""]
    assert parts.errors == [
        "Part 0 (multipart/mixed) has a boundary of 201 characters (RFC 2046 allows 70): its parts are not read; "
        "the raw source has them."
    ]
