"""The Integration tab and the development CA download."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_integration_tab_shows_settings_and_snippets(member_client, inbox, settings):
    settings.MAILDOG_SMTP_HOSTNAME = "mail.dev.example"
    settings.MAILDOG_SMTP_PORTS = "2525:starttls,587:starttls,465:tls"
    response = member_client.get(reverse("inboxes:integration", args=[inbox.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="smtp-host">mail.dev.example<' in body
    assert f'id="smtp-username">{inbox.smtp_username}<' in body
    assert f'id="smtp-password">{inbox.smtp_password}<' in body
    assert 'id="smtp-port-starttls">2525<' in body and 'id="smtp-port-tls">465<' in body
    assert "EMAIL_PORT = 2525\nEMAIL_USE_TLS = True" in body
    assert "EMAIL_PORT = 465\nEMAIL_USE_SSL = True" in body
    assert 'os.environ["EMAIL_HOST_PASSWORD"]' in body
    assert 'smtplib.SMTP("mail.dev.example", 2525)' in body
    assert 'data-copy="#smtp-password"' in body
    # A plain member sees the settings but not the reset button.
    assert "Reset credentials" not in body


def test_development_ca_is_offered_and_downloadable(owner_client, inbox, settings, tmp_path):
    from smtpd.tls import ensure_local_certificates

    settings.MAILDOG_TLS_CERT = settings.MAILDOG_TLS_KEY = ""
    settings.DATA_DIR = tmp_path
    # The web app never makes a CA of its own: it offers the one the SMTP side made at its first start.
    assert owner_client.get(reverse("inboxes:ca_certificate")).status_code == 404
    ensure_local_certificates(settings.MAILDOG_SMTP_HOSTNAME)
    body = owner_client.get(reverse("inboxes:integration", args=[inbox.pk])).content.decode()
    assert "Reset credentials" in body
    assert reverse("inboxes:ca_certificate") in body and "SSL_CERT_FILE" in body
    response = owner_client.get(reverse("inboxes:ca_certificate"))
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    assert content.startswith(b"-----BEGIN CERTIFICATE-----")
    assert "attachment" in response["Content-Disposition"]


def test_operator_certificate_means_no_ca_download(owner_client, inbox, settings, test_ca, tmp_path):
    cert = test_ca.issue_cert("mail.example.com")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "c.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "k.pem"))
    settings.MAILDOG_TLS_CERT, settings.MAILDOG_TLS_KEY = str(tmp_path / "c.pem"), str(tmp_path / "k.pem")
    body = owner_client.get(reverse("inboxes:integration", args=[inbox.pk])).content.decode()
    assert "maildog-ca.pem" not in body
    assert owner_client.get(reverse("inboxes:ca_certificate")).status_code == 404


def test_access(client, outsider, inbox):
    url = reverse("inboxes:integration", args=[inbox.pk])
    assert client.get(url).status_code == 302
    assert client.get(reverse("inboxes:ca_certificate")).status_code == 302
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 405
