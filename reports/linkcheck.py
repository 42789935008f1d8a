"""Link check (opt-in per inbox): each link's status after redirects.

Never runs without the inbox's opt-in (InboxReportSettings.link_check): it
makes HTTP requests to what the message links to, usually the application
under test. For each http(s) link (at most MAILDOG_LINK_CHECK_MAX_LINKS):
HEAD, then GET where HEAD is refused (405, 501), following up to
MAILDOG_LINK_CHECK_MAX_REDIRECTS redirects; at most
MAILDOG_LINK_CHECK_MAX_BYTES of a body are read; each request has
MAILDOG_LINK_CHECK_TIMEOUT seconds and the whole check
MAILDOG_LINK_CHECK_TIME_LIMIT.

Where a request may go is decided per hop, redirects included: the host must
be on the inbox's allow-list (when it has one), and every address the host
resolves to must be public unless the inbox allows private addresses. The
connection is then made to the address that was checked (not resolved a
second time), so a DNS answer cannot change between the check and the request.
"""

import ipaddress
import socket
import ssl
import time
from urllib.parse import urljoin

import httpcore
from django.conf import settings

from .findings import Findings, split_url

HEAD_REFUSED = (405, 501)
USER_AGENT = "Maildog-link-check/1 (the link check of a Maildog inbox; its team turned it on)"


class Refused(Exception):
    """The link may not be requested (allow-list, private address, scheme)."""


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def host_allowed(host: str, allowed: list[str]) -> bool:
    if not allowed:
        return True
    host = host.lower().rstrip(".")
    for entry in allowed:
        if entry.startswith("*.") and (host.endswith(entry[1:]) or host == entry[2:]):
            return True
        if host == entry:
            return True
    return False


class _PinnedBackend(httpcore.SyncBackend):
    """Connects only to addresses the policy allows, resolving each host once per connection."""

    def __init__(self, allow_private: bool):
        self.allow_private = allow_private
        self.connected_to: str | None = None

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise httpcore.ConnectError(f"{host} does not resolve: {error.strerror}") from error
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not self.allow_private:
            private = [a for a in addresses if not _public(a)]
            if private:
                raise Refused(
                    f"{host} resolves to {private[0]}, a private or local address: this inbox does not allow "
                    "those (Report settings)."
                )
        last_error: Exception | None = None
        for address in addresses:
            try:
                stream = super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as error:
                last_error = error
                continue
            self.connected_to = address
            return stream
        raise httpcore.ConnectError(str(last_error) if last_error else f"{host}: no address")


def _request(pool, method: str, url: str, timeout: float, max_bytes: int) -> tuple[int, str | None]:
    """(status, Location) of one request, reading at most `max_bytes` of the body."""
    extensions = {"timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}}
    headers = [(b"User-Agent", USER_AGENT.encode()), (b"Accept", b"*/*")]
    with pool.stream(method, url, headers=headers, extensions=extensions) as response:
        read = 0
        if method == "GET":
            for chunk in response.iter_stream():
                read += len(chunk)
                if read >= max_bytes:
                    break
        location = None
        for name, value in response.headers:
            if name.lower() == b"location":
                location = value.decode("latin-1")
        return response.status, location


def check_link(url: str, *, allowed: list[str], allow_private: bool, deadline: float) -> dict:
    """Follow one link; {"url", "status", "final_url", "redirects", "method", "error", "refused"}."""
    result: dict = {"url": url, "status": None, "final_url": url, "redirects": [], "method": "", "error": ""}
    timeout = float(settings.MAILDOG_LINK_CHECK_TIMEOUT)
    max_bytes = settings.MAILDOG_LINK_CHECK_MAX_BYTES
    backend = _PinnedBackend(allow_private)
    context = ssl.create_default_context()
    current = url
    with httpcore.ConnectionPool(ssl_context=context, network_backend=backend, max_connections=2) as pool:
        for _hop in range(settings.MAILDOG_LINK_CHECK_MAX_REDIRECTS + 1):
            split = split_url(current)
            if split is None or split.scheme not in ("http", "https") or not split.hostname:
                result["error"] = (
                    f"{'redirects to ' if result['redirects'] else ''}{current} is not a valid http(s) URL"
                )
                return result
            if not host_allowed(split.hostname, allowed):
                result["refused"] = f"{split.hostname} is not on this inbox's link-check allow-list"
                result["error"] = result["refused"]
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                result["error"] = "not checked: the link check's time budget was spent"
                return result
            per_request = min(timeout, remaining)
            try:
                status, location = _request(pool, "HEAD", current, per_request, max_bytes)
                method = "HEAD"
                if status in HEAD_REFUSED:
                    status, location = _request(pool, "GET", current, per_request, max_bytes)
                    method = "GET"
            except Refused as error:
                result["refused"] = str(error)
                result["error"] = str(error)
                return result
            except httpcore.TimeoutException:
                result["error"] = f"no answer within {per_request:g} s"
                return result
            except (
                httpcore.NetworkError,
                httpcore.ProtocolError,
                httpcore.UnsupportedProtocol,
                ssl.SSLError,
                ValueError,  # a URL httpcore cannot use (a bad port, spaces in the host)
            ) as e:
                result["error"] = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
                return result
            result.update(status=status, method=method, final_url=current)
            if status in (301, 302, 303, 307, 308) and location:
                try:
                    following = urljoin(current, location)
                except ValueError:
                    result["error"] = f"redirects to {location!r}, which is not a valid URL"
                    return result
                result["redirects"].append({"status": status, "url": following})
                current = following
                continue
            return result
    result["error"] = f"more than {settings.MAILDOG_LINK_CHECK_MAX_REDIRECTS} redirects"
    return result


def check_links(findings: Findings, urls: list[tuple[str, str, int | None]], inbox_settings, stop=None) -> dict:
    """The links section. `urls`: (url, part, line) of the message's links and images, in order."""
    if not inbox_settings.link_check:
        return {
            "enabled": False,
            "reason": "The link check is off for this inbox: it makes HTTP requests to the links, so the inbox's "
            "team turns it on (Report settings).",
            "links": [],
        }
    deadline = time.monotonic() + float(settings.MAILDOG_LINK_CHECK_TIME_LIMIT)
    limit = settings.MAILDOG_LINK_CHECK_MAX_LINKS
    seen: dict[str, tuple[str, int | None]] = {}
    for url, part, line in urls:
        split = split_url(url)
        if split is not None and split.scheme.lower() in ("http", "https"):
            seen.setdefault(url, (part, line))
    checked, cuts = [], []
    for index, (url, (part, line)) in enumerate(seen.items()):
        if index >= limit:
            cuts.append(f"Only the first {limit} links were checked (MAILDOG_LINK_CHECK_MAX_LINKS).")
            break
        if (stop is not None and stop.is_set()) or time.monotonic() >= deadline:
            cuts.append(
                f"Links from {url} on were not checked: the link check's time budget "
                f"({settings.MAILDOG_LINK_CHECK_TIME_LIMIT:g} s, MAILDOG_LINK_CHECK_TIME_LIMIT) was spent."
            )
            break
        result = check_link(
            url,
            allowed=inbox_settings.allowed_hosts,
            allow_private=inbox_settings.link_check_private,
            deadline=deadline,
        )
        result.update(part=part, line=line)
        checked.append(result)
        where = {"part": part, "line": line, "text": url}
        if result.get("refused"):
            findings.add(
                "note",
                "link-not-checked",
                "A link was not followed",
                result["refused"],
                "Add the host to the allow-list, or allow private addresses, in the inbox's Report settings.",
                **where,
            )
        elif result["error"]:
            findings.add(
                "error",
                "link-unreachable",
                f"A link could not be opened: {result['error']}",
                "Readers who click it get an error page.",
                "Check that the URL is right and that the server it points at is reachable from the internet.",
                **where,
            )
        elif result["status"] >= 400:
            findings.add(
                "error",
                "link-broken",
                f"A link answers {result['status']}"
                + (f" after {len(result['redirects'])} redirect(s)" if result["redirects"] else ""),
                "Readers who click it get an error page (a wrong {% url %} argument, an expired token, a page "
                "behind login).",
                "Open the URL yourself; fix the view or the arguments the link is built with.",
                **where,
            )
        elif url.startswith("https:") and any(r["url"].startswith("http:") for r in result["redirects"]):
            findings.add(
                "warning",
                "link-downgrade",
                "A link redirects from https to plain http",
                "The reader leaves a secure page for an insecure one.",
                "Serve the target over https.",
                **where,
            )
    return {"enabled": True, "links": checked, "cuts": cuts}
