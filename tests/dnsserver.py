"""A DNS server on loopback for the authentication checks: test zones, no public DNS.

`LoopbackDNS` answers from records the tests add (`add_txt`, `add_a`, ...):
a name with no records at all is NXDOMAIN, a name with other types is an empty
answer (NODATA), like a real authoritative server. Queries are recorded so
tests can show which names were looked up.
"""

import socket
import threading

from dnslib import AAAA, MX, QTYPE, RCODE, RR, TXT, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer


def _name(name: str) -> str:
    return name.lower().rstrip(".") + "."


def _chunks(text: str) -> list[bytes]:
    data = text.encode()
    return [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]


class ZoneResolver(BaseResolver):
    def __init__(self):
        self.records: dict[str, list[RR]] = {}
        self.queries: list[tuple[str, str]] = []
        self.gates: dict[str, threading.Event] = {}
        self.lock = threading.Lock()

    def hold(self, name: str) -> threading.Event:
        """Answers for `name` wait until the returned event is set (a slow nameserver)."""
        gate = self.gates[_name(name)] = threading.Event()
        return gate

    def add(self, name: str, rtype: str, rdata) -> None:
        with self.lock:
            self.records.setdefault(_name(name), []).append(
                RR(_name(name), getattr(QTYPE, rtype), rdata=rdata, ttl=300)
            )

    def clear(self) -> None:
        with self.lock:
            self.records.clear()
            self.queries.clear()
            for gate in self.gates.values():
                gate.set()
            self.gates.clear()

    def resolve(self, request, handler):
        reply = request.reply()
        qname = str(request.q.qname).lower()
        qtype = QTYPE[request.q.qtype]
        with self.lock:
            self.queries.append((qname.rstrip("."), qtype))
            records = list(self.records.get(qname, []))
            gate = self.gates.get(qname)
        if gate is not None:
            gate.wait(60)
        if not records:
            reply.header.rcode = RCODE.NXDOMAIN
        for record in records:
            if QTYPE[record.rtype] == qtype:
                reply.add_answer(record)
        return reply


class LoopbackDNS:
    """A UDP DNS server on 127.0.0.1, on a free port, in a thread."""

    def __init__(self):
        self.zone = ZoneResolver()
        # Find a free UDP port, then let dnslib bind it.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        quiet = DNSLogger("-request,-reply,-truncated")
        self.server = DNSServer(self.zone, address="127.0.0.1", port=self.port, logger=quiet)

    @property
    def nameserver(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self):
        self.server.start_thread()
        return self

    def stop(self):
        self.server.stop()
        self.server.server.server_close()

    def add_txt(self, name: str, text: str) -> None:
        self.zone.add(name, "TXT", TXT(_chunks(text)))

    def add_a(self, name: str, address: str) -> None:
        self.zone.add(name, "A", A(address))

    def add_aaaa(self, name: str, address: str) -> None:
        self.zone.add(name, "AAAA", AAAA(address))

    def add_mx(self, name: str, exchange: str, preference: int = 10) -> None:
        self.zone.add(name, "MX", MX(exchange, preference))

    def looked_up(self, name: str) -> bool:
        return any(qname == name.lower() for qname, _ in self.zone.queries)
