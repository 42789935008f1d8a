"""One HTTP attempt of a webhook delivery, with the guards a server-side request needs.

- Only http and https URLs. Private and loopback addresses are allowed (a
  sandbox's webhooks usually point at CI on a private network); link-local
  (cloud metadata at 169.254.169.254), multicast and unspecified addresses
  are refused, checked on the addresses the host name resolves to when sent.
- Redirects are never followed: a 3xx is a failed attempt.
- A timeout on connecting and on each read (`MAILDOG_WEBHOOK_TIMEOUT`); at
  most EXCERPT_BYTES of the answer are read, for the delivery log.
- Environment proxy settings are not used.
"""

import ipaddress
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

EXCERPT_BYTES = 1024
USER_AGENT = "Maildog-Webhooks/1"


class RefusedURL(ValueError):
    """The URL may not be requested (scheme or address)."""


def _refused_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved


def check_url(url: str, *, resolve: bool = True) -> None:
    """RefusedURL if `url` is not http(s) or (resolved) reaches a refused address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedURL("Only http:// and https:// URLs with a host name or address.")
    if not resolve:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as error:
        raise RefusedURL(f"The host name does not resolve ({error.strerror}).") from None
    for info in infos:
        if _refused_address(info[4][0]):
            raise RefusedURL(f"{parts.hostname} resolves to {info[4][0]}, an address webhooks may not reach.")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # the 3xx comes back as an HTTPError: a failed attempt


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


@dataclass
class Attempt:
    status_code: int | None
    error: str
    latency_ms: int
    excerpt: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _excerpt(response) -> str:
    try:
        data = response.read(EXCERPT_BYTES)
    except (OSError, ValueError):
        return ""
    return data.decode("utf-8", "replace")


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Attempt:
    """POST `body` once; the outcome (never raises for network or HTTP trouble)."""
    started = time.monotonic()

    def took() -> int:
        return round((time.monotonic() - started) * 1000)

    try:
        check_url(url)
    except RefusedURL as error:
        return Attempt(None, str(error), took(), "")
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers}
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            return Attempt(response.status, "", took(), _excerpt(response))
    except urllib.error.HTTPError as error:
        with error:
            excerpt = _excerpt(error)
        reason = "redirect not followed" if 300 <= error.code < 400 else ""
        return Attempt(error.code, reason, took(), excerpt)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, socket.timeout) or isinstance(error, TimeoutError):
            text = f"timed out after {timeout:g} s"
        else:
            text = f"{type(reason).__name__}: {reason}"
        return Attempt(None, text[:300], took(), "")
