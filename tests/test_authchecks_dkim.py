"""DKIM verification of captured messages, against keys on the loopback DNS server."""

import pytest

from deliverability.dkim import check_dkim
from tests.authzones import message_bytes, sign


@pytest.mark.parametrize("key_name,algorithm,bits", [("rsa", "rsa-sha256", 2048), ("ed", "ed25519-sha256", 256)])
def test_signed_message_passes(auth_zones, key_name, algorithm, bits):
    raw = sign(message_bytes("Shop <orders@shop.test>"), auth_zones[key_name], "shop.test")

    [result] = check_dkim(raw)

    assert result["result"] == "pass", result["reason"]
    assert result["domain"] == "shop.test"
    assert result["selector"] == key_name
    assert result["algorithm"] == algorithm
    assert result["key_bits"] == bits
    assert result["body_hash"] == "pass"
    assert result["headers_signed"] == ["from", "to", "subject", "date", "message-id"]


def test_tampered_body_fails_and_says_the_body_changed(auth_zones):
    raw = sign(message_bytes("orders@shop.test", body="Total: 10 EUR\n"), auth_zones["rsa"], "shop.test")
    tampered = raw.replace(b"Total: 10 EUR", b"Total: 99 EUR")

    [result] = check_dkim(tampered)

    assert result["result"] == "fail"
    assert result["body_hash"] == "fail"
    assert "body changed" in result["reason"]


def test_tampered_signed_header_fails_and_says_a_header_changed(auth_zones):
    raw = sign(message_bytes("orders@shop.test", subject="Your receipt"), auth_zones["ed"], "shop.test")
    tampered = raw.replace(b"Subject: Your receipt", b"Subject: Your refund")

    [result] = check_dkim(tampered)

    assert result["result"] == "fail"
    assert result["body_hash"] == "pass"
    assert "signed header changed" in result["reason"]


def test_unknown_selector_is_a_clear_permerror(auth_zones, dkim_keys):
    from dataclasses import replace

    raw = sign(message_bytes("orders@shop.test"), replace(dkim_keys["rsa"], selector="s2024"), "shop.test")

    [result] = check_dkim(raw)

    assert result["result"] == "permerror"
    assert result["reason"] == "no key found for selector 's2024' at s2024._domainkey.shop.test (unknown selector)"


def test_every_signature_is_verified(auth_zones):
    raw = sign(message_bytes("orders@shop.test"), auth_zones["rsa"], "shop.test")
    raw = sign(raw, auth_zones["ed"], "vendor.test")

    results = check_dkim(raw)

    assert [(r["domain"], r["selector"], r["result"]) for r in results] == [
        ("vendor.test", "ed", "pass"),
        ("shop.test", "rsa", "pass"),
    ]


def test_1024_bit_key_passes_with_its_size_reported(loopback_dns, dkim_keys):
    loopback_dns.add_txt("weak._domainkey.shop.test", dkim_keys["weak"].public_record)
    raw = sign(message_bytes("orders@shop.test"), dkim_keys["weak"], "shop.test")

    [result] = check_dkim(raw)

    # 1024 bits still verifies; receivers accept it, the fixes suggest 2048.
    assert result["result"] == "pass"
    assert result["key_bits"] == 1024


def test_unsigned_message_has_no_results(auth_zones):
    assert check_dkim(message_bytes("orders@shop.test")) == []


def test_dns_unreachable_is_temperror(auth_zones, settings, unused_udp_port):
    raw = sign(message_bytes("orders@shop.test"), auth_zones["rsa"], "shop.test")
    settings.MAILDOG_DNS_NAMESERVERS = [f"127.0.0.1:{unused_udp_port}"]
    settings.MAILDOG_DNS_TIMEOUT = 1.0  # a refused nameserver costs the whole timeout

    [result] = check_dkim(raw)

    assert result["result"] == "temperror"
    assert "rsa._domainkey.shop.test" in result["reason"]
