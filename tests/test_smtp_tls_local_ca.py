"""Without operator certificates, Maildog makes a local CA that Django's verifying backend trusts."""

import asyncio
import ssl

import pytest
from asgiref.sync import sync_to_async
from cryptography import x509
from django.core.mail import get_connection, send_mail
from django.db import connections

from inboxes.integration import STARTTLS, Listener
from inboxes.models import Message
from smtpd.server import SMTPService
from smtpd.tls import ensure_local_certificates, server_context, tls_files


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.MAILDOG_TLS_CERT = settings.MAILDOG_TLS_KEY = ""
    return tmp_path


def test_local_ca_is_made_once_and_covers_the_names(data_dir):
    files = ensure_local_certificates("mail.dev.internal")
    ca_bytes = files.ca.read_bytes()
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["mail.dev.internal", "localhost"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    assert oct(files.key.stat().st_mode & 0o777) == "0o600"
    # A second start reuses the CA (apps keep trusting it) and the server certificate.
    again = ensure_local_certificates("mail.dev.internal")
    assert again.ca.read_bytes() == ca_bytes
    # A new host name gets a new server certificate from the same CA.
    renamed = ensure_local_certificates("smtp.example.test")
    assert renamed.ca.read_bytes() == ca_bytes
    cert = x509.load_pem_x509_certificate(renamed.cert.read_bytes())
    assert "smtp.example.test" in cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.DNSName)


def test_operator_certificates_take_precedence(data_dir, settings, test_ca, tmp_path):
    issued = test_ca.issue_cert("mail.example.com")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    settings.MAILDOG_TLS_CERT, settings.MAILDOG_TLS_KEY = str(cert), str(key)
    files = tls_files()
    assert (files.cert, files.key, files.ca) == (cert, key, None)
    assert not (data_dir / "tls").exists()


def send_through_local_ca_listener(inbox, subject):
    """Send with Django's backend to a listener using the local CA's certificate."""
    files = tls_files()

    async def run():
        service = SMTPService([Listener(0, STARTTLS)], "127.0.0.1", "localhost", server_context(files))
        await service.start()
        try:
            connection = get_connection(
                "django.core.mail.backends.smtp.EmailBackend",
                host="localhost",
                port=service.port_for(STARTTLS),
                use_tls=True,
                username=inbox.smtp_username,
                password=inbox.smtp_password,
                timeout=10,
            )
            return await asyncio.to_thread(
                send_mail, subject, "Hi", "app@example.com", ["a@example.com"], connection=connection
            )
        finally:
            await service.stop(1)
            await sync_to_async(connections.close_all)()

    return asyncio.run(run())


def test_django_backend_verifies_the_local_ca(data_dir, transactional_db, inbox, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files().ca))
    assert send_through_local_ca_listener(inbox, "Trusted") == 1
    assert Message.objects.get().subject == "Trusted"


def test_an_untrusted_certificate_is_rejected_by_the_client(data_dir, transactional_db, inbox):
    """The check above is real: without trusting the CA, verification fails."""
    with pytest.raises(ssl.SSLCertVerificationError):
        send_through_local_ca_listener(inbox, "Untrusted")
    assert not Message.objects.exists()
