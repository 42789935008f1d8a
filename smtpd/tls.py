"""TLS for the SMTP listeners.

Production: the operator's certificate and key (`MAILDOG_TLS_CERT`, `MAILDOG_TLS_KEY`).
Development: a local certificate authority, created once in the data directory,
signs a server certificate for the configured host name, localhost and
127.0.0.1. Apps trust that CA (a file they can download) and keep their SMTP
client's certificate verification on.
"""

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings

from inboxes.integration import local_ca_path

CA_VALIDITY = datetime.timedelta(days=3650)
SERVER_VALIDITY = datetime.timedelta(days=825)


@dataclass(frozen=True)
class TLSFiles:
    cert: Path
    key: Path
    ca: Path | None  # the local CA's certificate, when Maildog made it


def local_ca_dir() -> Path:
    return local_ca_path().parent


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _create_ca(cert_path: Path, key_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Maildog local development CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _server_names(hostname: str) -> list[str]:
    return list(dict.fromkeys([hostname, "localhost", "127.0.0.1", "::1"]))


def _san_entry(name: str):
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _cert_covers(cert_path: Path, names: list[str]) -> bool:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    if cert.not_valid_after_utc < datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=7):
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return all(_san_entry(name) in san for name in names)


def _create_server_cert(cert_path, key_path, ca_cert_path, ca_key_path, names) -> None:
    ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{ca_key_path} is not the EC key Maildog's development CA is made with")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + SERVER_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([_san_entry(n) for n in names]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def ensure_local_certificates(hostname: str) -> TLSFiles:
    """Create the local CA once, and a server certificate whenever the names change."""
    directory = local_ca_dir()
    directory.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = local_ca_path(), directory / "maildog-ca-key.pem"
    cert, key = directory / "server.pem", directory / "server-key.pem"
    if not (ca_cert.exists() and ca_key.exists()):
        _create_ca(ca_cert, ca_key)
    names = _server_names(hostname)
    if not (cert.exists() and key.exists() and _cert_covers(cert, names)):
        _create_server_cert(cert, key, ca_cert, ca_key, names)
    return TLSFiles(cert=cert, key=key, ca=ca_cert)


def tls_files() -> TLSFiles:
    if settings.MAILDOG_TLS_CERT and settings.MAILDOG_TLS_KEY:
        return TLSFiles(cert=Path(settings.MAILDOG_TLS_CERT), key=Path(settings.MAILDOG_TLS_KEY), ca=None)
    return ensure_local_certificates(settings.MAILDOG_SMTP_HOSTNAME)


def server_context(files: TLSFiles) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.cert, files.key)
    return context


# TLS alerts a client sends when it does not accept our certificate.
_CERTIFICATE_REJECTED = ("ALERT_UNKNOWN_CA", "ALERT_BAD_CERTIFICATE", "ALERT_CERTIFICATE_UNKNOWN")


def describe_handshake_failure(error: BaseException | None) -> str:
    """One short line on why a TLS handshake failed, for the session log."""
    if error is None or isinstance(error, ConnectionError) and not isinstance(error, ConnectionAbortedError):
        return "connection closed during the TLS handshake"
    if isinstance(error, ssl.SSLError):
        code = error.reason or type(error).__name__
        if code.endswith(_CERTIFICATE_REJECTED):
            return f"the client does not trust the server certificate ({code})"
        return f"TLS handshake failed ({code})"
    if isinstance(error, (TimeoutError, ConnectionAbortedError)):
        # asyncio and uvloop abort a handshake past its timeout with ConnectionAbortedError.
        return "TLS handshake not finished in time"
    return f"TLS handshake failed ({type(error).__name__})"
