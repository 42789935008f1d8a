"""The report's link check against a loopback HTTP server: opt-in per inbox, statuses after redirects,
HEAD then GET, timeouts, the host allow-list, private addresses, and its bounds."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from reports.models import InboxReportSettings, Report

from .test_reports_content import found, report_for, send


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self, head: bool):
        self.server.requests.append((self.command, self.path))
        path = self.path
        if path == "/no-head" and head:
            self.send_response(405)
            self.send_header("Allow", "GET")
            self.end_headers()
            return
        if path == "/slow":
            time.sleep(3)
        if path == "/endless":
            if head:
                self.send_response(501)
                self.end_headers()
                return
            self.send_response(200)
            self.end_headers()
            written, until = 0, time.monotonic() + 10
            try:
                while time.monotonic() < until:
                    self.wfile.write(b"x" * 65536)
                    written += 65536
            except (BrokenPipeError, ConnectionResetError):
                self.server.endless.append(("client left", written))
                return
            self.server.endless.append(("finished", written))
            return
        if path.startswith("/redirect"):
            target = {"/redirect": "/ok", "/redirect-away": f"http://127.0.0.1:{self.server.server_port}/ok"}[path]
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status = 404 if path == "/missing" else 200
        body = b"x" * (1024 * 1024 if path == "/big" else 10)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    def do_HEAD(self):
        self._answer(head=True)

    def do_GET(self):
        self._answer(head=False)


@pytest.fixture
def web():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.requests = []
    server.endless = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def links_html(port, *paths, host="localhost"):
    return "\n".join(f'<p><a href="http://{host}:{port}{path}">{path}</a></p>' for path in paths)


def by_path(report):
    return {link["url"].split(":", 2)[2].split("/", 1)[1]: link for link in report.data["links"]["links"]}


def test_links_are_never_followed_without_the_opt_in(smtp_server, inbox, web):
    send(smtp_server, inbox, "No opt-in", "see html", links_html(web.server_port, "/ok"))

    report = report_for(inbox, "No opt-in")

    assert report.data["links"]["enabled"] is False
    assert "off for this inbox" in report.data["links"]["reason"]
    assert web.requests == []


def test_statuses_after_redirects_head_then_get_and_timeouts(smtp_server, inbox, web, settings):
    settings.MAILDOG_LINK_CHECK_TIMEOUT = 1.0
    InboxReportSettings.objects.create(inbox=inbox, link_check=True, link_check_private=True)
    html = links_html(web.server_port, "/ok", "/missing", "/redirect", "/no-head", "/slow")
    send(smtp_server, inbox, "Links", "see html", html)

    report = report_for(inbox, "Links")

    links = by_path(report)
    assert (links["ok"]["status"], links["ok"]["method"]) == (200, "HEAD")
    assert links["missing"]["status"] == 404
    assert links["redirect"]["status"] == 200
    assert links["redirect"]["redirects"] == [{"status": 302, "url": f"http://localhost:{web.server_port}/ok"}]
    assert (links["no-head"]["status"], links["no-head"]["method"]) == (200, "GET")
    assert ("GET", "/no-head") in web.requests and ("HEAD", "/no-head") in web.requests
    assert links["slow"]["status"] is None and "no answer within 1 s" in links["slow"]["error"]
    [broken] = found(report, "link-broken")
    assert (broken["line"], broken["text"], broken["severity"]) == (
        2,
        f"http://localhost:{web.server_port}/missing",
        "error",
    )
    assert "404" in broken["what"]
    [unreachable] = found(report, "link-unreachable")
    assert unreachable["line"] == 5


def test_private_addresses_only_when_allowed(smtp_server, inbox, web):
    InboxReportSettings.objects.create(inbox=inbox, link_check=True)
    send(smtp_server, inbox, "Private", "see html", links_html(web.server_port, "/ok"))

    report = report_for(inbox, "Private")

    [link] = report.data["links"]["links"]
    assert link["status"] is None
    assert "private or local address" in link["refused"]
    assert [f["check"] for f in report.findings if f["part"] == "html" and f["check"].startswith("link-not")] == [
        "link-not-checked"
    ]
    assert web.requests == []


def test_the_allow_list_holds_for_every_redirect(smtp_server, inbox, web):
    InboxReportSettings.objects.create(
        inbox=inbox, link_check=True, link_check_private=True, link_check_hosts="localhost"
    )
    html = links_html(web.server_port, "/redirect-away") + "\n" + links_html(web.server_port, "/ok", host="127.0.0.1")
    send(smtp_server, inbox, "Allow-list", "see html", html)

    report = report_for(inbox, "Allow-list")

    away, direct = report.data["links"]["links"]
    assert away["redirects"][0]["url"] == f"http://127.0.0.1:{web.server_port}/ok"
    assert "127.0.0.1 is not on this inbox's link-check allow-list" in away["refused"]
    assert "not on this inbox's link-check allow-list" in direct["refused"]
    assert web.requests == [("HEAD", "/redirect-away")]


def test_the_link_check_is_bounded(smtp_server, inbox, web, settings):
    settings.MAILDOG_LINK_CHECK_MAX_LINKS = 2
    settings.MAILDOG_LINK_CHECK_MAX_BYTES = 1024
    InboxReportSettings.objects.create(inbox=inbox, link_check=True, link_check_private=True)
    send(smtp_server, inbox, "Many links", "see html", links_html(web.server_port, "/no-head", "/ok", "/missing"))

    report = report_for(inbox, "Many links")

    assert report.status == Report.Status.BOUNDED
    assert [link["url"].rsplit("/", 1)[1] for link in report.data["links"]["links"]] == ["no-head", "ok"]
    assert any("MAILDOG_LINK_CHECK_MAX_LINKS" in cut for cut in report.data["limits"])
    assert ("HEAD", "/missing") not in web.requests


def test_a_body_is_read_only_up_to_its_budget(smtp_server, inbox, web, settings):
    settings.MAILDOG_LINK_CHECK_MAX_BYTES = 1024
    InboxReportSettings.objects.create(inbox=inbox, link_check=True, link_check_private=True)
    send(smtp_server, inbox, "Endless", "see html", links_html(web.server_port, "/endless"))

    report = report_for(inbox, "Endless")

    [link] = report.data["links"]["links"]
    assert (link["status"], link["method"], link["error"]) == (200, "GET", "")
    deadline = time.monotonic() + 10
    while not web.endless and time.monotonic() < deadline:
        time.sleep(0.05)
    [(outcome, written)] = web.endless
    assert outcome == "client left"  # the check stopped reading; the server did not run out of time
