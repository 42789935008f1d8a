"""SPF evaluation by client IP (pyspf) and the record review (checkdmarc), on the loopback DNS server."""

import pytest

from deliverability.spf import check_spf
from tests.authzones import GOOD_IP, OTHER_IP


@pytest.mark.parametrize(
    "sender,client_ip,expected",
    [
        ("orders@shop.test", GOOD_IP, "pass"),
        ("orders@shop.test", OTHER_IP, "fail"),
        ("news@soft.test", OTHER_IP, "softfail"),
        ("news@soft.test", GOOD_IP, "pass"),
        ("someone@nospf.test", GOOD_IP, "none"),
    ],
)
def test_result_depends_on_the_client_ip(auth_zones, sender, client_ip, expected):
    result = check_spf(client_ip, sender, "mx.example.net")

    assert result["result"] == expected
    assert result["scope"] == "mailfrom"
    assert result["domain"] == sender.split("@")[1]
    assert result["client_ip"] == client_ip


def test_neutral(loopback_dns):
    loopback_dns.add_txt("maybe.test", "v=spf1 ?all")

    assert check_spf(GOOD_IP, "a@maybe.test", "")["result"] == "neutral"


def test_empty_sender_checks_the_helo_name(auth_zones):
    result = check_spf(GOOD_IP, "", "mail.strict.test")

    assert result["scope"] == "helo"
    assert result["domain"] == "mail.strict.test"
    assert result["result"] == "pass"
    assert check_spf(OTHER_IP, "", "mail.strict.test")["result"] == "fail"


def test_passing_record_is_reviewed(auth_zones):
    review = check_spf(GOOD_IP, "orders@shop.test", "")["record_review"]

    assert review["record"] == f"v=spf1 ip4:{GOOD_IP} ip4:127.0.0.1 -all"
    assert review["valid"] is True
    assert review["dns_lookups"] == 0
    assert review["over_lookup_limit"] is False


def test_record_over_the_lookup_limit_is_flagged(loopback_dns):
    includes = " ".join(f"include:i{n}.big.test" for n in range(1, 12))
    loopback_dns.add_txt("big.test", f"v=spf1 {includes} -all")
    for n in range(1, 12):
        loopback_dns.add_txt(f"i{n}.big.test", f"v=spf1 ip4:203.0.113.{n} -all")

    result = check_spf(GOOD_IP, "a@big.test", "")

    assert result["result"] == "permerror"
    review = result["record_review"]
    assert review["over_lookup_limit"] is True
    assert review["dns_lookups"] == 11
    assert review["valid"] is False


def test_too_many_void_lookups_is_permerror(loopback_dns):
    loopback_dns.add_txt("void.test", "v=spf1 a:gone1.void.test a:gone2.void.test a:gone3.void.test -all")

    result = check_spf(GOOD_IP, "a@void.test", "")

    assert result["result"] == "permerror"
    assert "void" in result["reason"].lower()
    review = result["record_review"]
    assert review["void_dns_lookups"] == 3
    assert review["valid"] is False
    assert "void" in review["error"]


def test_syntax_error_is_permerror_with_the_review_saying_why(loopback_dns):
    loopback_dns.add_txt("typo.test", "v=spf1 ip4:192.0.2.300 -all")

    result = check_spf(GOOD_IP, "a@typo.test", "")

    assert result["result"] == "permerror"
    assert result["record_review"]["valid"] is False
    assert "192.0.2.300" in result["record_review"]["error"]


def test_dns_unreachable_is_temperror(auth_zones, settings, unused_udp_port):
    settings.MAILDOG_DNS_NAMESERVERS = [f"127.0.0.1:{unused_udp_port}"]
    settings.MAILDOG_DNS_TIMEOUT = 1.0  # a refused nameserver costs the whole timeout

    result = check_spf(GOOD_IP, "orders@shop.test", "")

    assert result["result"] == "temperror"


def test_lookups_go_to_the_configured_nameserver(auth_zones, loopback_dns):
    check_spf(GOOD_IP, "orders@shop.test", "")

    assert ("shop.test", "TXT") in loopback_dns.zone.queries
