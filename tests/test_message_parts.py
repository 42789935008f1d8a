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
