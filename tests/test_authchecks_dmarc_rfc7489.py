"""DMARC to the letter of RFC 7489: pct= sampling (6.3, 6.6.4) and records with invalid p= or sp= (6.6.3)."""

import pytest

from deliverability.dkim import check_dkim
from deliverability.dmarc import check_dmarc, has_valid_rua, sampling
from deliverability.results import headline
from deliverability.spf import check_spf
from tests.authzones import GOOD_IP, OTHER_IP, message_bytes, sign


@pytest.fixture
def zones(auth_zones, loopback_dns):
    """The standard zones plus records that each break one rule of RFC 7489."""
    for name, record in {
        # p=reject enacted on 0% of failing mail.
        "pct0.test": "v=DMARC1; p=reject; pct=0",
        "pct0q.test": "v=DMARC1; p=quarantine; pct=0",
        "pct25.test": "v=DMARC1; p=reject; pct=25",
        # An invalid p= with a valid rua=: act as p=none and carry on.
        "badp.test": "v=DMARC1; p=block; rua=mailto:dmarc@badp.test",
        # The same without a usable rua=: the record is unusable.
        "badp-norua.test": "v=DMARC1; p=block",
        "badp-badrua.test": "v=DMARC1; p=block; rua=not a uri",
        # An invalid sp= (with p=reject): unusable without rua=, p=none with it.
        "badsp.test": "v=DMARC1; p=reject; sp=block",
        "badsp-rua.test": "v=DMARC1; p=reject; sp=block; rua=mailto:d@badsp-rua.test",
    }.items():
        loopback_dns.add_txt(name, f"v=spf1 ip4:{GOOD_IP} -all")
        loopback_dns.add_txt(f"_dmarc.{name}", record)
    return auth_zones


def evaluate(keys, *, from_addr, signer=None, mail_from="", client_ip=OTHER_IP):
    raw = message_bytes(from_addr)
    if signer:
        raw = sign(raw, keys["rsa"], signer)
    return check_dmarc(from_addr, check_dkim(raw), check_spf(client_ip, mail_from, "mx.example.net"))


def test_p_reject_pct_0_is_never_enacted_failing_mail_is_quarantined(zones):
    result = evaluate(zones, from_addr="a@pct0.test", mail_from="a@pct0.test")

    assert (result["result"], result["policy"], result["pct"]) == ("fail", "reject", 0)
    assert result["disposition"] == "quarantine"
    assert result["sampling"] == {
        "pct": 0,
        "sampled": "none",
        "policy_applied": "reject",
        "sampled_out": "quarantine",
        "disposition": "quarantine",
    }
    assert "pct=0: p=reject is never enacted" in headline("fail", [], {"result": "fail"}, result)


def test_p_quarantine_pct_0_delivers(zones):
    result = evaluate(zones, from_addr="a@pct0q.test", mail_from="a@pct0q.test")

    assert (result["result"], result["disposition"], result["sampling"]["sampled"]) == ("fail", "none", "none")


def test_pct_between_reports_the_share_and_the_milder_policy(zones):
    result = evaluate(zones, from_addr="a@pct25.test", mail_from="a@pct25.test")

    assert result["pct"] == 25
    assert result["sampling"]["sampled"] == "some"
    assert result["disposition"] == "reject"
    assert result["sampling"]["sampled_out"] == "quarantine"
    text = headline("fail", [], {"result": "fail"}, result)
    assert "pct=25: for that share of failing mail; the rest one step milder" in text


def test_pct_100_is_the_default_and_samples_all(zones):
    result = evaluate(zones, from_addr="orders@shop.test", signer="vendor.test")

    assert (result["pct"], result["sampling"]["sampled"], result["disposition"]) == (100, "all", "reject")


def test_invalid_p_with_a_valid_rua_acts_as_p_none_and_aligned_spf_passes(zones):
    # 127.0.0.1 is authorised by badp.test's SPF record: aligned SPF pass.
    result = evaluate(zones, from_addr="a@badp.test", mail_from="bounce@badp.test", client_ip=GOOD_IP)

    assert result["result"] == "pass"
    assert (result["policy"], result["policy_source"]) == ("none", "rua")
    assert "invalid p='block'" in result["policy_note"]


def test_invalid_p_with_a_valid_rua_failing_mail_is_delivered(zones):
    result = evaluate(zones, from_addr="a@badp.test", mail_from="a@badp.test")

    assert (result["result"], result["policy"], result["disposition"]) == ("fail", "none", "none")


@pytest.mark.parametrize("domain", ["badp-norua.test", "badp-badrua.test"])
def test_invalid_p_without_a_valid_rua_makes_the_record_unusable(zones, domain):
    result = evaluate(zones, from_addr=f"a@{domain}", mail_from=f"bounce@{domain}", client_ip=GOOD_IP)

    assert result["result"] == "permerror"
    assert result["disposition"] == "none"
    assert "receivers ignore it" in result["reason"]


def test_invalid_sp_makes_the_record_unusable_for_a_subdomain(zones):
    # Before: sp= was ignored and p=reject applied to the subdomain.
    result = evaluate(zones, from_addr="a@news.badsp.test", mail_from="a@news.badsp.test")

    assert result["location"] == "badsp.test"
    assert result["result"] == "permerror"
    assert result["disposition"] == "none"
    assert "invalid sp='block'" in result["reason"]


def test_invalid_sp_makes_the_record_unusable_for_the_domain_itself(zones):
    result = evaluate(zones, from_addr="a@badsp.test", mail_from="a@badsp.test")

    assert (result["result"], result["disposition"]) == ("permerror", "none")


def test_invalid_sp_with_a_valid_rua_acts_as_p_none(zones):
    result = evaluate(zones, from_addr="a@news.badsp-rua.test", mail_from="a@news.badsp-rua.test")

    assert (result["result"], result["policy"], result["policy_source"], result["disposition"]) == (
        "fail",
        "none",
        "rua",
        "none",
    )


@pytest.mark.parametrize(
    ("rua", "valid"),
    [
        ("mailto:d@example.com", True),
        ("mailto:d@example.com!10m", True),
        ("bad, mailto:d@example.com", True),
        ("https://example.com/r", True),
        ("", False),
        ("d@example.com", False),
        ("not a uri", False),
    ],
)
def test_valid_rua(rua, valid):
    assert has_valid_rua({"rua": rua}) is valid


def test_sampling_of_p_none_is_always_all():
    assert sampling("none", 0)["sampled"] == "all"
