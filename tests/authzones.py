"""Test zones and DKIM keys for the authentication-check tests.

Domains end in .test (RFC 2606): they exist only on the loopback DNS server.
"""

import base64
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import dkim
import nacl.signing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.mail.backends.smtp import EmailBackend

GOOD_IP = "192.0.2.10"
OTHER_IP = "198.51.100.7"
SIGNED_HEADERS = [b"from", b"to", b"subject", b"date", b"message-id"]


@dataclass
class DKIMKey:
    selector: str
    private: bytes  # what dkim.sign takes
    public_record: str  # the TXT record at <selector>._domainkey.<domain>
    algorithm: bytes


def rsa_key(selector: str, bits: int = 2048) -> DKIMKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return DKIMKey(selector, private, f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}", b"rsa-sha256")


def ed25519_key(selector: str) -> DKIMKey:
    key = nacl.signing.SigningKey.generate()
    return DKIMKey(
        selector,
        base64.b64encode(bytes(key)),
        f"v=DKIM1; k=ed25519; p={base64.b64encode(bytes(key.verify_key)).decode()}",
        b"ed25519-sha256",
    )


def sign(raw: bytes, key: DKIMKey, domain: str) -> bytes:
    """The message with a DKIM-Signature for `domain` prepended, as a signing MTA would."""
    signature = dkim.sign(
        raw,
        key.selector.encode(),
        domain.encode(),
        key.private,
        include_headers=SIGNED_HEADERS,
        signature_algorithm=key.algorithm,
    )
    return signature + raw


def message_bytes(from_addr: str, subject: str = "Your receipt", body: str = "Thanks for your order.\n") -> bytes:
    message = EmailMessage()
    message["From"] = from_addr
    message["To"] = "customer@example.net"
    message["Subject"] = subject
    message["Date"] = formatdate()
    message["Message-ID"] = make_msgid(domain="app.test")
    message.set_content(body)
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def publish_standard_zones(dns, keys: dict[str, DKIMKey]) -> None:
    """Zones most tests share.

    shop.test        SPF allows GOOD_IP and 127.0.0.1 (-all); DMARC p=reject, sp=quarantine;
                     DKIM keys "rsa" and "ed" (and "weak", 1024 bits, when given)
    soft.test        SPF ~all; DMARC p=quarantine
    relaxed.test     SPF -all; DMARC p=none
    strict.test      DMARC p=reject with adkim=s and aspf=s
    vendor.test      an ESP domain: SPF allows GOOD_IP, signs with its own key, no DMARC
    """
    dns.add_txt("shop.test", f"v=spf1 ip4:{GOOD_IP} ip4:127.0.0.1 -all")
    dns.add_txt("_dmarc.shop.test", "v=DMARC1; p=reject; sp=quarantine; rua=mailto:dmarc@shop.test")
    for key in keys.values():
        dns.add_txt(f"{key.selector}._domainkey.shop.test", key.public_record)
        dns.add_txt(f"{key.selector}._domainkey.vendor.test", key.public_record)
        dns.add_txt(f"{key.selector}._domainkey.strict.test", key.public_record)
    dns.add_a("mail.shop.test", GOOD_IP)
    dns.add_txt("soft.test", f"v=spf1 ip4:{GOOD_IP} ~all")
    dns.add_txt("_dmarc.soft.test", "v=DMARC1; p=quarantine")
    dns.add_txt("relaxed.test", f"v=spf1 ip4:{GOOD_IP} -all")
    dns.add_txt("_dmarc.relaxed.test", "v=DMARC1; p=none")
    dns.add_txt("strict.test", f"v=spf1 ip4:{GOOD_IP} -all")
    dns.add_txt("mail.strict.test", f"v=spf1 ip4:{GOOD_IP} -all")
    dns.add_txt("_dmarc.strict.test", "v=DMARC1; p=reject; adkim=s; aspf=s")
    dns.add_txt("vendor.test", f"v=spf1 ip4:{GOOD_IP} -all")


class DKIMSigningBackend(EmailBackend):
    """Django's SMTP backend with the DKIM signing an MTA would add (test code)."""

    def __init__(self, *args, dkim_key, dkim_domain, **kwargs):
        super().__init__(*args, **kwargs)
        self.dkim_key = dkim_key
        self.dkim_domain = dkim_domain

    def _send(self, email_message):
        raw = email_message.message().as_bytes(linesep="\r\n")
        signature = dkim.sign(
            raw,
            self.dkim_key.selector.encode(),
            self.dkim_domain.encode(),
            self.dkim_key.private,
            include_headers=SIGNED_HEADERS,
            signature_algorithm=self.dkim_key.algorithm,
        )
        self.connection.sendmail(email_message.from_email, email_message.recipients(), signature + raw)
        return True
