"""The resolver every check uses: configured nameservers, timeouts and one shared cache.

`MAILDOG_DNS_NAMESERVERS` lists "ip" or "ip:port" entries ("[v6]:port" for IPv6
with a port); empty means the system's resolvers. `MAILDOG_DNS_TIMEOUT` is the
time one lookup may take in all (seconds). Answers are cached for their TTL in
a process-wide dnspython cache, so a burst of mail from one sender costs one
lookup per name.
"""

import ipaddress
import threading

import checkdmarc.utils
import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver
from django.conf import settings

_cache = dns.resolver.LRUCache(max_size=10_000)


class DNSTemporaryError(Exception):
    """The lookup could not be completed (timeout, unreachable or failing nameservers)."""


# A check worker thread sets its stop event here, so that once the process is
# stopping every further lookup of that thread fails at once instead of
# waiting for a nameserver: the check in flight then ends within one lookup.
_thread = threading.local()


def interrupt_lookups_on(stop: threading.Event | None) -> None:
    """Make this thread's lookups fail (DNSTemporaryError) once `stop` is set; None undoes it."""
    _thread.stop = stop


def lookups_interrupted() -> bool:
    """This thread's stop event is set: lookups must not start."""
    stop = getattr(_thread, "stop", None)
    return stop is not None and stop.is_set()


def parse_nameserver(entry: str) -> dns.nameserver.Do53Nameserver:
    """Turn "ip", "ip:port", "v6" or "[v6]:port" into a plain-DNS nameserver."""
    entry = entry.strip()
    host, port = entry, 53
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        if rest:
            port = int(rest.removeprefix(":"))
    elif entry.count(":") == 1:
        host, port_text = entry.split(":")
        port = int(port_text)
    ipaddress.ip_address(host)  # ValueError for anything but an address
    return dns.nameserver.Do53Nameserver(host, port)


_resolvers: dict[tuple, dns.resolver.Resolver] = {}


def get_resolver() -> dns.resolver.Resolver:
    """The resolver for the current settings, sharing the process-wide cache.

    Built once per configuration: a new Resolver reads /etc/resolv.conf, which
    cost more than the checks themselves. Resolvers are safe to share between
    threads as long as nobody changes them.
    """
    key = (tuple(settings.MAILDOG_DNS_NAMESERVERS), float(settings.MAILDOG_DNS_TIMEOUT))
    resolver = _resolvers.get(key)
    if resolver is None:
        resolver = _resolvers[key] = _build_resolver(*key)
    return resolver


def _build_resolver(nameservers, timeout) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=not nameservers)
    if nameservers:
        resolver.nameservers = [parse_nameserver(entry) for entry in nameservers]
    # One try per nameserver may take the whole budget; dnspython retries
    # within the lifetime when a datagram is lost.
    resolver.timeout = min(timeout, 2.0)
    resolver.lifetime = timeout
    # DKIM keys exceed the 512 bytes of plain DNS over UDP.
    resolver.use_edns(0, 0, 1232)
    resolver.cache = _cache
    return resolver


def flush_cache() -> None:
    """Forget every cached answer (a re-run asks the nameservers again).

    checkdmarc keeps its own process-wide cache of the answers it got (through
    our resolver); it is cleared too.
    """
    _cache.flush()
    checkdmarc.utils.DNS_CACHE.clear()


def txt_records(resolver: dns.resolver.Resolver, name: str) -> list[bytes] | None:
    """The TXT records at `name`, each as joined bytes; None when the name does not exist.

    Raises DNSTemporaryError when no answer could be had (or the checks are stopping).
    """
    if lookups_interrupted():
        raise DNSTemporaryError(f"{name} TXT: not looked up, the checks are stopping")
    try:
        answer = resolver.resolve(name, dns.rdatatype.TXT, raise_on_no_answer=False, search=False)
    except dns.resolver.NXDOMAIN:
        return None
    except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.NoResolverConfiguration) as error:
        raise DNSTemporaryError(f"{name} TXT: {error}") from error
    return [b"".join(rdata.strings) for rdata in answer]
