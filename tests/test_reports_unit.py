"""The report's rules on messages built here, checked by calling `reports.service.build` directly."""

import pytest

from reports.models import InboxReportSettings
from reports.service import build

GOOD = {
    "From": "Shop <orders@shop.maildog-tests.net>",
    "To": "ann@customer.maildog-tests.net",
    "Subject": "Hello",
    "Date": "Tue, 24 Nov 2026 10:00:00 +0000",
    "Message-ID": "<1@shop.maildog-tests.net>",
}


def raw(headers: dict, body: str = "Hello Ann.\r\n", content_type: str = "text/plain; charset=utf-8") -> bytes:
    lines = [f"{name}: {value}" for name, value in headers.items() if value is not None]
    return ("\r\n".join([*lines, f"Content-Type: {content_type}", "", body])).encode()


def checks(message: bytes, **settings) -> dict:
    report = build(message, InboxReportSettings(inbox_id=0, **settings))
    return {f["check"]: f for f in report["findings"]}


def test_a_plain_good_message_has_no_findings():
    assert checks(raw(GOOD)) == {}


@pytest.mark.parametrize(
    ("change", "check", "text"),
    [
        ({"Date": None}, "date-missing", ""),
        ({"Date": "24/11/2026"}, "date-malformed", "24/11/2026"),
        ({"Message-ID": None}, "message-id-missing", ""),
        ({"Message-ID": "1234"}, "message-id-malformed", "1234"),
        ({"From": None}, "from-missing", ""),
        ({"From": "Shop"}, "from-malformed", "Shop"),
        ({"From": "orders@localhost"}, "from-malformed", "orders@localhost"),
        ({"From": "webmaster@localhost"}, "from-django-default", "webmaster@localhost"),
        ({"Reply-To": "Do Not Reply <donotreply@shop.maildog-tests.net>"}, "reply-to-no-reply", None),
        ({"Precedence": "list"}, "list-unsubscribe-missing", ""),
        ({"List-Id": "<news.shop.maildog-tests.net>"}, "list-unsubscribe-missing", ""),
    ],
)
def test_headers(change, check, text):
    found = checks(raw({**GOOD, **change}))

    assert list(found) == [check]
    assert found[check]["part"] == "headers"
    if text is not None:
        assert found[check]["text"] == text


def test_a_list_unsubscribe_post_without_an_https_url_is_not_one_click():
    found = checks(
        raw(
            {
                **GOOD,
                "Precedence": "bulk",
                "List-Unsubscribe": "<mailto:u@shop.maildog-tests.net>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        )
    )

    assert list(found) == ["list-unsubscribe-post-missing"]


@pytest.mark.parametrize(
    ("body", "check", "line"),
    [
        ("Hello Ann.\r\nTotal: None\r\n", "none-value", 2),
        ("None of your orders is late.\r\n", None, None),
        ("Dear ,\r\nthanks.\r\n", "missing-name", 1),
        ("Hi, Ann.\r\n", None, None),
        ("Tags: []\r\n", "empty-container", 1),
        ("Shipped: <bound method Order.shipped of <Order: 7>>\r\n", "bound-method", 1),
        ("Done.\r\n{% endif %}\r\n", "template-tag", 2),
        ("Visit /orders/7/ to track it.\r\n", "link-relative", 1),
        ("Track it: https://shop.maildog-tests.net/orders/7/track/ today.\r\n", None, None),
        ("Open http://shop.maildog-tests.net/orders/7/\r\n", "link-http", 1),
        ("Open https://app.test/orders/7/\r\n", "link-dev-domain", 1),
        ("Open https://10.1.2.3/orders/7/\r\n", "link-private-address", 1),
    ],
)
def test_text_body(body, check, line):
    found = checks(raw(GOOD, body))

    if check is None:
        assert found == {}
    else:
        assert list(found) == [check]
        assert (found[check]["part"], found[check]["line"]) == ("text", line)


def test_javascript_links_and_images_over_http_in_html():
    html = '<p><a href="javascript:alert(1)">x</a></p>\n<img src="http://cdn.shop-cdn.net/a.png" alt="">'
    found = checks(raw(GOOD, html, "text/html; charset=utf-8"))

    assert (found["link-javascript"]["line"], found["image-http"]["line"]) == (1, 2)


def test_expected_site_url_with_https_reports_plain_http_to_the_same_host():
    body = "Open https://shop.maildog-tests.net/a/ and http://shop.maildog-tests.net/b/\r\n"
    found = checks(raw(GOOD, body), expected_site_url="https://shop.maildog-tests.net")

    assert found["link-elsewhere"]["text"] == "http://shop.maildog-tests.net/b/"


def test_a_huge_message_is_too_large():
    body = "x" * 70 + "\r\n"
    found = checks(raw(GOOD, body * (26 * 1024 * 1024 // len(body))))

    assert found["message-too-large"]["severity"] == "error"


@pytest.mark.parametrize(
    ("html", "slug", "lines"),
    [
        (
            "<style>\n@media (prefers-color-scheme: dark) {\n.a { color: red }\n}\n</style>",
            "css-at-media-prefers-color-scheme",
            [2],
        ),
        ("<style>\na:hover { color: red }\n</style>", "css-pseudo-class-hover", [2]),
        ("<style>\np::before { content: 'x' }\n</style>", "css-pseudo-element-before", [2]),
        ("<style>\nul > li { margin: 0 }\n</style>", "css-selector-child", [2]),
        ("<style>\n.a {\n  background: linear-gradient(red, blue);\n}\n</style>", "css-linear-gradient", [3]),
        ("<style>\n.a { width: calc(100% - 2px) }\n</style>", "css-unit-calc", [2]),
        ("<style>\n:root { --brand: red }\n.a { color: var(--brand) }\n</style>", "css-variables", [2, 3]),
        ('<p style="margin-top: 4px !important">x</p>', "css-important", [1]),
        ('<p style="margin-top: 4px">x</p>', "css-margin", [1]),
        ('<p>\n<img src="https://x.maildog-tests.net/a.webp" alt="a">\n</p>', "image-webp", [2]),
        ("<p>x</p>\n<svg></svg>", "html-svg", [2]),
        ("<form action='https://x.maildog-tests.net/'>\n<input type='checkbox'>\n</form>", "html-input-checkbox", [2]),
    ],
)
def test_compatibility_features_and_their_lines(html, slug, lines):
    import time

    from reports.compat import features_used
    from reports.scan import scan_html

    used, cuts = features_used(scan_html(html, time.monotonic() + 10), time.monotonic() + 10)

    assert cuts == []
    assert used.lines[slug] == lines


def test_compatibility_scores_per_family():
    report = build(raw(GOOD, '<div style="display: grid">x</div>', "text/html"), InboxReportSettings(inbox_id=0))
    families = report["compatibility"]["families"]

    assert families["outlook"]["unsupported"] >= 1
    assert 0 <= families["outlook"]["score"] < families["apple-mail"]["score"] <= 100
    assert report["compatibility"]["supported_pct"] + report["compatibility"]["partial_pct"] + report["compatibility"][
        "unsupported_pct"
    ] == pytest.approx(100, abs=0.2)
