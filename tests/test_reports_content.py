"""The message report: a corpus of Django mistakes sent over real SMTP, each found where it is, and a clean
message that has none of them."""

import smtplib
import time

import pytest
from django.core.mail import EmailMultiAlternatives
from django.template import Context, Template
from django.test import RequestFactory

from reports.models import InboxReportSettings, Report

from .conftest import smtp_backend

SITE = "https://shop.maildog-tests.net"
SENDER = "Shop <orders@shop.maildog-tests.net>"


def send(smtp_server, inbox, subject, text=None, html=None, headers=None, sender=SENDER, timeout=10):
    connection = smtp_backend(smtp_server, inbox)
    connection.timeout = timeout
    email = EmailMultiAlternatives(
        subject,
        text if text is not None else "",
        sender,
        ["ann@customer.maildog-tests.net"],
        headers=headers or {},
        connection=connection,
    )
    if html is not None:
        if text is None:
            email.body, email.content_subtype = html, "html"
        else:
            email.attach_alternative(html, "text/html")
    email.send()


def report_for(inbox, subject, timeout=30.0) -> Report:
    """The report on the inbox's message with this subject, once the background worker saved it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = Report.objects.filter(message__inbox=inbox, message__subject=subject).first()
        if report is not None:
            return report
        time.sleep(0.05)
    raise AssertionError(f"no report on {subject!r} within {timeout} s")


def found(report, check):
    return [f for f in report.findings if f["check"] == check]


CLEAN_TEXT = """Hello Ann,

Your order 48213 has shipped. Track it here:
https://shop.maildog-tests.net/orders/48213/

The Shop team
"""
CLEAN_HTML = """<!DOCTYPE html>
<html lang="en">
<body>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0">
<tr><td style="background-color:#ffffff">
<p>Hello Ann,</p>
<p>Your order 48213 has shipped.</p>
<p><a href="https://shop.maildog-tests.net/orders/48213/">Track it here</a></p>
<img src="https://shop.maildog-tests.net/logo.png" alt="The Shop" width="120" height="40">
<p>The Shop team</p>
</td></tr>
</table>
</body>
</html>
"""


def test_a_clean_message_has_no_findings(smtp_server, inbox):
    InboxReportSettings.objects.create(inbox=inbox, expected_site_url=SITE)
    send(smtp_server, inbox, "Your order has shipped", CLEAN_TEXT, CLEAN_HTML)

    report = report_for(inbox, "Your order has shipped")

    assert report.status == "complete"
    assert report.findings == []
    assert (report.errors, report.warnings, report.notes) == (0, 0, 0)
    assert report.data["spam"]["status"] == "off"
    assert "MAILDOG_SPAMD_URL is not set" in report.data["spam"]["reason"]
    assert report.data["links"]["enabled"] is False
    assert report.data["compatibility"]["families"]["outlook"]["score"] is not None


def test_a_template_rendered_with_a_missing_variable(smtp_server, inbox):
    context = Context({"order": None, "items": []})
    text = Template("Hi {{ user.first_name }},\n\nOrder: {{ order }}\nItems: {{ items }}\n").render(context)
    html = Template(
        "<html><body>\n<p>Hi {{ user.first_name }},</p>\n<p>Order: {{ order }}</p>\n</body></html>\n"
    ).render(context)
    send(smtp_server, inbox, "Missing variable", text, html)

    report = report_for(inbox, "Missing variable")

    greeting = found(report, "missing-name")
    assert {(f["part"], f["line"], f["text"]) for f in greeting} == {("text", 1, "Hi ,"), ("html", 2, "Hi ,")}
    assert all(f["severity"] == "warning" and "Hi ," in f["why"] and f["fix"] for f in greeting)
    assert {(f["part"], f["line"]) for f in found(report, "none-value")} == {("text", 3), ("html", 3)}
    assert [(f["part"], f["line"], f["text"]) for f in found(report, "empty-container")] == [("text", 4, "Items: []")]


def test_template_syntax_sent_unrendered(smtp_server, inbox):
    send(
        smtp_server,
        inbox,
        "Welcome {{ user.first_name }}",
        "Hello,\nYour code is {{ code }}.\n{% if trial %}Enjoy your trial{% endif %}\n{# TODO #}\n",
        "<p>Hello,</p>\n<p>{{ object }}</p>\n"
        "<p>&lt;QuerySet [&lt;Order: 1&gt;]&gt; &lt;Order object at 0x7f3a2b1c4d90&gt;</p>\n",
    )

    report = report_for(inbox, "Welcome {{ user.first_name }}")

    variables = {(f["part"], f["line"], f["text"]) for f in found(report, "template-variable")}
    assert ("headers", 1, "Welcome {{ user.first_name }}") in variables
    assert ("text", 2, "Your code is {{ code }}.") in variables
    assert ("html", 2, "{{ object }}") in variables
    assert [(f["part"], f["line"]) for f in found(report, "template-tag")] == [("text", 3)]
    assert [(f["part"], f["line"]) for f in found(report, "template-comment")] == [("text", 4)]
    assert [(f["part"], f["line"]) for f in found(report, "queryset-repr")] == [("html", 3)]
    assert [(f["part"], f["line"]) for f in found(report, "object-repr")] == [("html", 3)]
    assert all(f["severity"] == "error" for f in found(report, "template-variable"))
    assert report.errors >= 5


def test_a_url_built_against_testserver(smtp_server, inbox):
    request = RequestFactory().get("/")  # the test client's host: testserver
    html = Template(
        "<html><body>\n<p>Reset your password:</p>\n"
        "<p><a href=\"{{ request.scheme }}://{{ request.get_host }}{% url 'account_reset_password' %}\">Reset</a></p>\n"
        "</body></html>"
    ).render(Context({"request": request}))
    text = "Reset your password: http://testserver/accounts/password/reset/\n"
    send(smtp_server, inbox, "Reset (testserver)", text, html)

    report = report_for(inbox, "Reset (testserver)")

    [in_html, in_text] = sorted(found(report, "link-testserver"), key=lambda f: f["part"])
    assert (in_html["part"], in_html["line"], in_html["text"]) == (
        "html",
        3,
        "http://testserver/accounts/password/reset/",
    )
    assert (in_text["part"], in_text["line"]) == ("text", 1)
    assert in_html["severity"] == "error"
    assert "test client" in in_html["why"]
    # One finding per link: its plain http:// is not reported on top.
    assert not found(report, "link-http")


def test_links_to_development_hosts_and_relative_urls(smtp_server, inbox):
    html = (
        "<p>\n"
        '<a href="http://localhost:8000/a/">local</a>\n'
        '<a href="http://127.0.0.1/b/">loopback</a>\n'
        '<a href="https://example.com/c/">default site</a>\n'
        '<a href="/accounts/confirm/abc/">relative</a>\n'
        '<img src="http://cdn.maildog-tests.net/x.png" alt="x">\n'
        "</p>"
    )
    send(smtp_server, inbox, "Dev hosts", "See the HTML.", html)

    report = report_for(inbox, "Dev hosts")

    by_check = {f["check"]: f for f in report.findings}
    assert [(f["line"], f["text"]) for f in found(report, "link-localhost")] == [
        (2, "http://localhost:8000/a/"),
        (3, "http://127.0.0.1/b/"),
    ]
    assert by_check["link-example-domain"]["line"] == 4
    assert "default Site" in by_check["link-example-domain"]["why"]
    assert (by_check["link-relative"]["line"], by_check["link-relative"]["text"]) == (5, "/accounts/confirm/abc/")
    assert (by_check["image-http"]["line"], by_check["image-http"]["severity"]) == (6, "warning")


def test_expected_site_url_reports_links_elsewhere(smtp_server, inbox):
    InboxReportSettings.objects.create(inbox=inbox, expected_site_url=SITE)
    html = '<p><a href="https://shop.maildog-tests.net/ok/">ok</a></p>\n<p><a href="https://staging.shop-preview.net/x/">x</a></p>'
    send(
        smtp_server,
        inbox,
        "Elsewhere",
        "https://shop.maildog-tests.net/ok/\nhttps://staging.shop-preview.net/x/\n",
        html,
    )

    report = report_for(inbox, "Elsewhere")

    elsewhere = found(report, "link-elsewhere")
    assert {(f["part"], f["line"], f["text"]) for f in elsewhere} == {
        ("html", 2, "https://staging.shop-preview.net/x/"),
        ("text", 2, "https://staging.shop-preview.net/x/"),
    }


def test_text_part_missing_the_reset_link(smtp_server, inbox):
    html = (
        "<html><body>\n<p>Someone asked to reset your password.</p>\n"
        '<p><a href="https://shop.maildog-tests.net/reset/Mg/c2x-4f9a/">Choose a new password</a></p>\n'
        "<p>Your code: 839201</p>\n</body></html>"
    )
    text = "Someone asked to reset your password. Use the button in this email.\n"
    send(smtp_server, inbox, "Reset your password", text, html)

    report = report_for(inbox, "Reset your password")

    [missing] = found(report, "link-only-in-html")
    assert (missing["part"], missing["line"], missing["text"]) == (
        "html",
        3,
        "https://shop.maildog-tests.net/reset/Mg/c2x-4f9a/",
    )
    assert "reset" in missing["why"]
    [code] = found(report, "code-only-in-html")
    assert (code["line"], code["text"]) == (4, "839201")


def test_html_only_and_stripped_tags(smtp_server, inbox):
    html = "<p>Welcome aboard!</p>\n<p><a href='https://shop.maildog-tests.net/start/'>Get started</a></p>"
    send(smtp_server, inbox, "HTML only", None, html)
    send(smtp_server, inbox, "Stripped", "Welcome aboard!\nGet started", html)

    assert [f["part"] for f in found(report_for(inbox, "HTML only"), "text-missing")] == ["message"]
    stripped = report_for(inbox, "Stripped")
    assert [f["part"] for f in found(stripped, "text-is-stripped-html")] == ["text"]
    assert not found(stripped, "text-missing")


def test_a_110_kb_html_part_is_clipped_by_gmail(smtp_server, inbox):
    rows = "".join(f"<tr><td>Item {n}</td><td>{'lorem ipsum ' * 8}</td></tr>\n" for n in range(860))
    html = f"<html><body><table>{rows}</table></body></html>"
    assert 110 * 1024 < len(html.encode()) < 120 * 1024
    send(smtp_server, inbox, "Big newsletter", "The catalogue is in the HTML part.", html)

    report = report_for(inbox, "Big newsletter")

    [clipped] = found(report, "html-clipped")
    assert clipped["part"] == "html"
    assert "102 KB" in clipped["what"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Precedence": "bulk"}, "list-unsubscribe-missing"),
        ({"List-Unsubscribe": "<mailto:unsubscribe@shop.maildog-tests.net>"}, "list-unsubscribe-post-missing"),
        (
            {
                "List-Unsubscribe": "<https://shop.maildog-tests.net/unsubscribe/t0k3n/>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            None,
        ),
    ],
)
def test_bulk_mail_needs_one_click_unsubscribe(smtp_server, inbox, headers, expected):
    text = "This week's news.\nUnsubscribe: https://shop.maildog-tests.net/unsubscribe/t0k3n/\n"
    html = (
        "<p>This week's news.</p>\n<p><a href='https://shop.maildog-tests.net/unsubscribe/t0k3n/'>Unsubscribe</a></p>"
    )
    send(smtp_server, inbox, "Weekly news", text, html, headers=headers)

    report = report_for(inbox, "Weekly news")

    unsubscribe = [f for f in report.findings if f["check"].startswith("list-unsubscribe")]
    if expected is None:
        assert unsubscribe == []
    else:
        [finding] = unsubscribe
        assert (finding["check"], finding["part"], finding["severity"]) == (expected, "headers", "error")
        assert "Gmail and Yahoo" in finding["why"]
        assert "List-Unsubscribe-Post" in finding["fix"]


def test_headers_django_would_not_get_wrong_unless_configured(smtp_server, inbox):
    send(
        smtp_server,
        inbox,
        "Server error",
        "Something broke.",
        headers={"Reply-To": "no-reply@shop.maildog-tests.net"},
        sender="webmaster@localhost",
    )

    report = report_for(inbox, "Server error")

    [default_from] = found(report, "from-django-default")
    assert (default_from["part"], default_from["text"], default_from["severity"]) == (
        "headers",
        "webmaster@localhost",
        "error",
    )
    assert "DEFAULT_FROM_EMAIL" in default_from["fix"]
    assert found(report, "reply-to-no-reply")[0]["text"] == "no-reply@shop.maildog-tests.net"
    # Django's EmailMessage adds these two.
    assert not found(report, "date-missing") and not found(report, "message-id-missing")


def test_missing_and_malformed_headers(smtp_server, inbox):
    raw = (
        b"From: nobody\r\nTo: ann@customer.maildog-tests.net\r\nSubject: Raw\r\nDate: yesterday\r\n"
        b"Content-Type: text/html\r\n\r\n<p><img src='https://shop.maildog-tests.net/a.png'></p>\r\n"
    )
    with smtplib.SMTP(smtp_server.host, smtp_server.starttls_port, timeout=10) as client:
        client.starttls()
        client.login(inbox.smtp_username, inbox.smtp_password)
        client.sendmail("app@shop.maildog-tests.net", ["ann@customer.maildog-tests.net"], raw)

    report = report_for(inbox, "Raw")

    checks = {f["check"] for f in report.findings}
    assert {"date-malformed", "message-id-missing", "from-malformed", "image-no-alt", "text-missing"} <= checks
    [no_alt] = found(report, "image-no-alt")
    assert (no_alt["line"], no_alt["text"]) == (1, "https://shop.maildog-tests.net/a.png")


def test_css_that_outlook_does_not_support(smtp_server, inbox):
    html = (
        "<html><head><style>\n"
        ".card { display: flex; }\n"
        "</style></head>\n"
        '<body><div class="card" style="border-radius: 8px">Hello</div></body></html>'
    )
    send(smtp_server, inbox, "Flexbox", "Hello", html)

    report = report_for(inbox, "Flexbox")

    compat = {f["text"]: f for f in found(report, "compat-unsupported")}
    flex, radius = compat["display:flex"], compat["border-radius"]
    assert (flex["part"], flex["line"], flex["severity"]) == ("html", 2, "warning")
    assert "Outlook Windows" in flex["what"]
    assert radius["line"] == 4
    assert "caniemail.com" in flex["fix"]
    features = {f["slug"]: f for f in report.data["compatibility"]["features"]}
    assert features["css-display-flex"]["lines"] == [2]
    assert {"client": "Outlook Windows", "family": "outlook"} in features["css-display-flex"]["unsupported"]
    outlook = report.data["compatibility"]["families"]["outlook"]
    assert outlook["unsupported"] > 0 and outlook["score"] < 100


def test_a_25_mb_message_is_reported_within_its_budget(smtp_server, inbox, settings):
    """The report says what its budgets cut: the parser shows 1 MB of a body, the rest is not read."""
    settings.MAILDOG_REPORT_TIME_LIMIT = 5.0
    filler = "<p>" + "x" * 60 + "</p>\n"  # short lines: Django sends them as they are (8bit)
    html = "<html><body>\n<p>Hi {{ name }}</p>\n" + filler * 368_000 + "</body></html>"
    send(smtp_server, inbox, "Huge", "Hi there", html, timeout=120)  # 25 MB on a busy machine

    report = report_for(inbox, "Huge", timeout=120)
    assert report.message.size > 25_000_000

    assert report.status == "bounded"
    assert any("only its first" in cut for cut in report.data["limits"])
    assert found(report, "message-too-large") or found(report, "message-large")
    # What was read was checked: the leftover on line 2 is found.
    assert [f["line"] for f in found(report, "template-variable")] == [2]
    assert report.data["size"] == report.message.size


def test_a_url_tag_in_the_text_template_gives_a_path(smtp_server, inbox):
    text = Template("Confirm your address:\n{% url 'account_reset_password' %}\n").render(Context({}))
    html = '<p><a href="https://shop.maildog-tests.net/accounts/password/reset/">Confirm</a></p>'
    send(smtp_server, inbox, "Confirm (path)", text, html)

    report = report_for(inbox, "Confirm (path)")

    [path] = [f for f in found(report, "link-relative") if f["part"] == "text"]
    assert (path["line"], path["text"], path["severity"]) == (2, "/accounts/password/reset/", "error")


def test_malformed_urls_are_findings_not_failures(smtp_server, inbox):
    html = "<p><a href='http://[::1/'>broken bracket</a></p>\n<p><a href='https://shop.maildog-tests.net:99999/'>port</a></p>"
    send(smtp_server, inbox, "Malformed links", "see html", html)

    report = report_for(inbox, "Malformed links")

    assert report.status == Report.Status.COMPLETE
    assert [(f["line"], f["text"]) for f in found(report, "link-malformed")] == [
        (1, "http://[::1/"),
        (2, "https://shop.maildog-tests.net:99999/"),
    ]


def test_each_prefilter_passes_every_text_its_pattern_finds_something_in():
    from reports.content import LEFTOVERS, PREFILTERS

    patterns = {check: pattern for pattern, _, check, *_ in LEFTOVERS}
    assert set(PREFILTERS) <= set(patterns)
    samples = [
        "Hi , your order", "Hello\u00a0!", "Dear\t:", "THANKS .", "Total: None", "None.", "items: []", "{} left",
        "<Order object at 0x7f3a2b1c>", "see object at 0xdeadbeef", "Hi, Ann", "None of these", "[1] {x}",
    ]  # fmt: skip
    for check, required in PREFILTERS.items():
        for text in samples:
            if patterns[check].search(text):
                assert required(text), (check, text)
        assert any(patterns[check].search(text) for text in samples), check  # each pattern is exercised
