"""DMARC: policy discovery, alignment and the receiver's disposition, on the loopback DNS server."""

import pytest

from deliverability.dkim import check_dkim
from deliverability.dmarc import check_dmarc, organizational_domain
from deliverability.spf import check_spf
from tests.authzones import GOOD_IP, OTHER_IP, message_bytes, sign


def evaluate(keys, *, from_addr, signer=None, key="rsa", mail_from="", client_ip=OTHER_IP):
    raw = message_bytes(from_addr)
    if signer:
        raw = sign(raw, keys[key], signer)
    dkim = check_dkim(raw)
    spf = check_spf(client_ip, mail_from, "mx.example.net")
    return check_dmarc(from_addr, dkim, spf)


def test_organizational_domain_comes_from_the_public_suffix_list():
    assert organizational_domain("mail.news.example.co.uk") == "example.co.uk"
    assert organizational_domain("shop.test") == "shop.test"
    assert organizational_domain("a.b.shop.test") == "shop.test"


def test_aligned_dkim_passes(auth_zones):
    result = evaluate(auth_zones, from_addr="Shop <orders@shop.test>", signer="shop.test")

    assert result["result"] == "pass"
    assert result["policy"] == "reject"
    assert result["disposition"] == "none"
    assert result["location"] == "shop.test"
    [dkim] = result["identifiers"][:1]
    assert dkim == {
        "kind": "dkim",
        "domain": "shop.test",
        "result": "pass",
        "aligned_relaxed": True,
        "aligned_strict": True,
        "aligned": True,
    }


def test_aligned_spf_alone_passes(auth_zones):
    result = evaluate(auth_zones, from_addr="orders@shop.test", mail_from="bounce@shop.test", client_ip=GOOD_IP)

    assert result["result"] == "pass"
    assert "SPF passed for shop.test" in result["reason"]


def test_misaligned_from_fails_and_p_reject_rejects(auth_zones):
    # Signed and sent by the vendor, but From claims shop.test.
    result = evaluate(
        auth_zones,
        from_addr="orders@shop.test",
        signer="vendor.test",
        mail_from="bounce@vendor.test",
        client_ip=GOOD_IP,
    )

    assert result["result"] == "fail"
    assert result["disposition"] == "reject"
    assert "DKIM passed for vendor.test, which is not aligned with shop.test" in result["reason"]
    assert "SPF passed for vendor.test" in result["reason"]
    assert not any(i["aligned"] for i in result["identifiers"])


def test_p_quarantine(auth_zones):
    result = evaluate(auth_zones, from_addr="news@soft.test", mail_from="news@soft.test")

    assert (result["result"], result["policy"], result["disposition"]) == ("fail", "quarantine", "quarantine")


def test_p_none_fails_but_delivers(auth_zones):
    result = evaluate(auth_zones, from_addr="a@relaxed.test", mail_from="a@relaxed.test")

    assert (result["result"], result["policy"], result["disposition"]) == ("fail", "none", "none")


def test_subdomain_uses_the_organizational_record_and_its_sp(auth_zones):
    result = evaluate(auth_zones, from_addr="news@news.shop.test")

    assert result["location"] == "shop.test"
    assert result["policy"] == "quarantine"
    assert result["policy_source"] == "sp"
    assert result["disposition"] == "quarantine"


def test_subdomain_signed_by_the_parent_aligns_relaxed(auth_zones):
    result = evaluate(auth_zones, from_addr="news@news.shop.test", signer="shop.test")

    assert result["result"] == "pass"
    assert result["identifiers"][0]["aligned_relaxed"] is True
    assert result["identifiers"][0]["aligned_strict"] is False


def test_strict_alignment_needs_the_exact_domain(auth_zones):
    result = evaluate(auth_zones, from_addr="a@mail.strict.test", signer="strict.test")

    assert result["adkim"] == "s"
    assert result["result"] == "fail"
    assert result["policy"] == "reject"
    [dkim] = result["identifiers"][:1]
    assert (dkim["aligned_relaxed"], dkim["aligned_strict"], dkim["aligned"]) == (True, False, False)


def test_no_record_is_none(auth_zones):
    result = evaluate(auth_zones, from_addr="a@vendor.test", signer="vendor.test")

    assert result["result"] == "none"
    assert result["record"] is None
    assert result["aligned_pass"] is True
    assert result["reason"] == "no DMARC record at _dmarc.vendor.test"


def test_dns_unreachable_is_temperror(auth_zones, settings, unused_udp_port):
    settings.MAILDOG_DNS_NAMESERVERS = [f"127.0.0.1:{unused_udp_port}"]
    settings.MAILDOG_DNS_TIMEOUT = 1.0  # a refused nameserver costs the whole timeout

    result = check_dmarc("orders@shop.test", [], {"domain": "", "result": "none"})

    assert result["result"] == "temperror"


@pytest.mark.parametrize("header", ["", "a@one.test, b@two.test"])
def test_from_without_a_single_domain_is_permerror(auth_zones, header):
    assert check_dmarc(header, [], {"domain": "", "result": "none"})["result"] == "permerror"
