"""The report's spam score from a real SpamAssassin spamd, started by these tests (local rules only)."""

import pytest

from reports.models import Report

from .processes import free_port
from .spamd import start_spamd
from .test_reports_content import found, report_for, send

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


@pytest.fixture(scope="module")
def spamd(tmp_path_factory):
    running = start_spamd(tmp_path_factory.mktemp("spamd"))
    yield running
    running.stop()


@pytest.fixture
def spam_scores(spamd, settings):
    settings.MAILDOG_SPAMD_URL = spamd.url
    return spamd


def test_spam_is_scored_with_the_rules_that_hit(smtp_server, inbox, spam_scores):
    send(smtp_server, inbox, "Cheap offer", f"Buy now!\n{GTUBE}\n", "<p>Buy now!</p>")

    report = report_for(inbox, "Cheap offer")

    spam = report.data["spam"]
    assert spam["status"] == "done"
    assert spam["is_spam"] is True
    assert spam["score"] >= 1000 and spam["threshold"] == 5.0
    gtube = next(rule for rule in spam["rules"] if rule["name"] == "GTUBE")
    assert (gtube["points"], gtube["description"]) == (1000, "BODY: Generic Test for Unsolicited Bulk Email")
    [finding] = found(report, "spam-score")
    assert (finding["severity"], finding["part"]) == ("error", "spam")
    assert "threshold of 5" in finding["what"] and "GTUBE" in finding["why"]


def test_ordinary_mail_is_under_the_threshold(smtp_server, inbox, spam_scores):
    send(
        smtp_server,
        inbox,
        "Your order has shipped",
        "Hello Ann,\n\nYour order has shipped and should arrive on Thursday.\n\nThe Shop team\n",
        "<p>Hello Ann,</p><p>Your order has shipped and should arrive on Thursday.</p><p>The Shop team</p>",
    )

    report = report_for(inbox, "Your order has shipped")

    spam = report.data["spam"]
    assert (spam["status"], spam["is_spam"]) == ("done", False)
    assert spam["score"] < spam["threshold"]
    assert all(rule["name"] and rule["description"] for rule in spam["rules"])
    assert not found(report, "spam-score")


def test_an_unreachable_spamd_is_said_and_the_rest_of_the_report_stands(smtp_server, inbox, settings):
    settings.MAILDOG_SPAMD_URL = f"spamd://127.0.0.1:{free_port()}"
    send(smtp_server, inbox, "Hi {{ name }}", "Hello")

    report = report_for(inbox, "Hi {{ name }}")

    assert report.status == Report.Status.COMPLETE
    assert report.data["spam"]["status"] == "error"
    assert "failed" in report.data["spam"]["reason"]
    assert found(report, "template-variable")


def test_mail_over_the_size_limit_is_not_sent_to_spamd(smtp_server, inbox, spam_scores, settings):
    settings.MAILDOG_SPAMD_MAX_BYTES = 2000
    send(smtp_server, inbox, "Large", "x" * 5000)

    report = report_for(inbox, "Large")

    assert report.data["spam"]["status"] == "skipped"
    assert "MAILDOG_SPAMD_MAX_BYTES" in report.data["spam"]["reason"]


def test_a_malformed_spamd_url_is_said(smtp_server, inbox, settings):
    settings.MAILDOG_SPAMD_URL = "http://127.0.0.1:783/"
    send(smtp_server, inbox, "Malformed", "Hello")

    report = report_for(inbox, "Malformed")

    assert report.status == Report.Status.COMPLETE
    assert report.data["spam"] == {
        "enabled": True,
        "status": "error",
        "reason": "MAILDOG_SPAMD_URL must look like spamd://host:port, not 'http://127.0.0.1:783/'",
    }
