"""The re-run view and the panel fragment: team members only, POST/GET only."""

import pytest
from django.urls import reverse

from inboxes.ingest import SessionFacts
from inboxes.models import Message
from tests.authzones import GOOD_IP, message_bytes, sign

from .conftest import ingest


@pytest.fixture
def message(inbox, auth_zones):
    raw = sign(message_bytes("Shop <orders@shop.test>"), auth_zones["rsa"], "shop.test")
    return ingest(inbox.pk, raw, SessionFacts(mail_from="orders@shop.test", client_ip=GOOD_IP))


def rerun_url(message):
    return reverse("deliverability:rerun", args=[message.inbox_id, message.pk])


def panel_url(message):
    return reverse("deliverability:panel", args=[message.inbox_id, message.pk])


def test_member_reruns_the_checks(client, member, message):
    client.force_login(member)

    response = client.post(rerun_url(message))

    assert response.status_code == 302
    assert response["Location"] == message.get_absolute_url() + "#auth-checks"
    message.refresh_from_db()
    assert message.deliverability_verdict == "pass"
    assert message.deliverability_checked_at is not None


def test_rerun_replaces_earlier_results(client, owner, message, loopback_dns):
    client.force_login(owner)
    client.post(rerun_url(message))
    loopback_dns.zone.clear()  # the key and the policies are gone

    client.post(rerun_url(message))

    message.refresh_from_db()
    assert message.deliverability_verdict == "fail"
    assert "unknown selector" in message.deliverability_results["dkim"][0]["reason"]


def test_outsider_gets_404(client, outsider, message):
    client.force_login(outsider)

    assert client.post(rerun_url(message)).status_code == 404
    assert client.get(panel_url(message)).status_code == 404
    assert Message.objects.get(pk=message.pk).deliverability_verdict == ""


def test_message_of_another_inbox_id_is_404(client, member, message, team):
    other_inbox = team.inboxes.create(name="Other")
    client.force_login(member)

    url = reverse("deliverability:rerun", args=[other_inbox.pk, message.pk])
    assert client.post(url).status_code == 404


def test_anonymous_is_sent_to_login(client, message):
    response = client.post(rerun_url(message))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_wrong_methods_are_405(client, member, message):
    client.force_login(member)

    assert client.get(rerun_url(message)).status_code == 405
    assert client.post(panel_url(message)).status_code == 405


def test_panel_before_the_checks_says_pending(client, member, message):
    client.force_login(member)

    response = client.get(panel_url(message))

    assert response.status_code == 200
    assert b"The checks run right after a message arrives" in response.content
    assert b"Run checks now" in response.content


def test_panel_shows_headline_details_header_and_fixes(client, member, message):
    client.force_login(member)
    client.post(rerun_url(message))

    html = client.get(panel_url(message)).content.decode()

    assert "Would pass: DMARC passes for shop.test through aligned DKIM and SPF." in html
    assert 'class="auth-panel auth-panel--pass"' in html
    assert "rsa-sha256" in html and "rsa 2048 bits" in html
    assert "from, to, subject, date, message-id" in html
    assert "Authentication-Results: localhost;" in html
    assert "v=DMARC1; p=reject; sp=quarantine" in html
    assert "deliverability/checks.css" in html
    assert f'action="{rerun_url(message)}"' in html


def test_panel_escapes_what_the_message_controls(client, member, inbox, auth_zones):
    hostile = (
        b"DKIM-Signature: v=1; a=rsa-sha256; d=shop.test; s=<img src=x onerror=alert(1)>; h=from; bh=AAAA; b=AAAA\r\n"
    )
    message = ingest(inbox.pk, hostile + message_bytes("orders@shop.test"), SessionFacts(client_ip=GOOD_IP))
    client.force_login(member)
    client.post(rerun_url(message))

    html = client.get(panel_url(message)).content.decode()

    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in html


def test_marker_template_shows_the_verdict(message):
    from django.template.loader import render_to_string

    from deliverability.service import check_message

    pending = render_to_string("deliverability/_marker.html", {"message": message})
    checked = render_to_string("deliverability/_marker.html", {"message": check_message(message.pk)})

    assert 'class="auth-marker auth-marker--pending"' in pending and "Not checked yet" in pending
    assert 'class="auth-marker auth-marker--pass"' in checked and "Would pass" in checked
    assert f'data-auth-marker-id="{message.pk}"' in checked
