"""The checks' resolver: configured nameservers (with ports), timeout, cache."""

import socket

import dns.nameserver
import pytest

from deliverability.dns import DNSTemporaryError, flush_cache, get_resolver, parse_nameserver, txt_records


@pytest.mark.parametrize(
    "entry,address,port",
    [
        ("192.0.2.53", "192.0.2.53", 53),
        ("127.0.0.1:5353", "127.0.0.1", 5353),
        ("2001:db8::53", "2001:db8::53", 53),
        ("[2001:db8::53]:5353", "2001:db8::53", 5353),
        (" [::1] ", "::1", 53),
    ],
)
def test_nameserver_entries(entry, address, port):
    nameserver = parse_nameserver(entry)

    assert isinstance(nameserver, dns.nameserver.Do53Nameserver)
    assert (nameserver.address, nameserver.port) == (address, port)


@pytest.mark.parametrize("entry", ["dns.example.net", "127.0.0.1:domain", "[::1]:"])
def test_invalid_nameserver_entries_are_refused(entry):
    with pytest.raises(ValueError):
        parse_nameserver(entry)


def test_resolver_follows_the_settings(settings):
    settings.MAILDOG_DNS_NAMESERVERS = ["127.0.0.1:5300", "192.0.2.53"]
    settings.MAILDOG_DNS_TIMEOUT = 3.5

    resolver = get_resolver()

    assert [(ns.address, ns.port) for ns in resolver.nameservers] == [("127.0.0.1", 5300), ("192.0.2.53", 53)]
    assert resolver.lifetime == 3.5
    assert resolver.timeout <= 3.5
    assert resolver.cache is get_resolver().cache


def test_answers_are_cached_until_flushed(loopback_dns):
    loopback_dns.add_txt("cached.test", "hello")
    resolver = get_resolver()

    assert txt_records(resolver, "cached.test") == [b"hello"]
    assert txt_records(get_resolver(), "cached.test") == [b"hello"]
    assert loopback_dns.zone.queries.count(("cached.test", "TXT")) == 1

    flush_cache()
    txt_records(get_resolver(), "cached.test")
    assert loopback_dns.zone.queries.count(("cached.test", "TXT")) == 2


def test_long_txt_records_are_joined(loopback_dns):
    loopback_dns.add_txt("long.test", "p=" + "A" * 700)

    assert txt_records(get_resolver(), "long.test") == [b"p=" + b"A" * 700]


def test_missing_name_is_none_and_empty_name_is_empty(loopback_dns):
    loopback_dns.add_a("host.test", "192.0.2.1")

    assert txt_records(get_resolver(), "missing.test") is None
    assert txt_records(get_resolver(), "host.test") == []


def test_refusing_nameserver_is_a_temporary_error(settings, unused_udp_port):
    settings.MAILDOG_DNS_NAMESERVERS = [f"127.0.0.1:{unused_udp_port}"]
    settings.MAILDOG_DNS_TIMEOUT = 1.0  # a refused nameserver costs the whole timeout

    with pytest.raises(DNSTemporaryError):
        txt_records(get_resolver(), "shop.test")


def test_silent_nameserver_is_a_temporary_error_after_the_timeout(settings):
    # A socket that takes queries and never answers: the lookup times out.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        settings.MAILDOG_DNS_NAMESERVERS = [f"127.0.0.1:{silent.getsockname()[1]}"]
        settings.MAILDOG_DNS_TIMEOUT = 0.3

        with pytest.raises(DNSTemporaryError, match="shop.test TXT"):
            txt_records(get_resolver(), "shop.test")
