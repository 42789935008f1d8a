"""HTTP access to Maildog's API with `urllib` (no third-party packages)."""

import contextlib
import itertools
import json
import time
import urllib.error
import urllib.parse
import urllib.request

from .message import Message
from .report import Report

# The server waits at most this long per request; longer waits take several.
SERVER_MAX_WAIT = 120.0
# Room for the server's answer after its own timeout.
HTTP_MARGIN = 15.0


_rule_numbers = itertools.count(1)


class MaildogError(Exception):
    """The API answered with an error status."""

    def __init__(self, status: int, detail, url: str):
        self.status = status
        self.detail = detail
        super().__init__(f"{status} from {url}: {detail}")


class MaildogTimeout(AssertionError):
    """No matching message arrived in time (an assertion failure in a test)."""


class MaildogClient:
    """Maildog's API at `base_url`, with an API token (from the API tokens page)."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    # -- HTTP --------------------------------------------------------------

    def _url(self, path: str, params: dict | None = None) -> str:
        url = f"{self.base_url}/api/v1/{path.lstrip('/')}"
        query = {name: value for name, value in (params or {}).items() if value is not None}
        return f"{url}?{urllib.parse.urlencode(query)}" if query else url

    def _request(self, method: str, url: str, *, timeout: float | None = None):
        request = urllib.request.Request(
            url,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                return response.status, response.headers.get("Content-Type", ""), response.read()
        except urllib.error.HTTPError as error:
            body = error.read()
            try:
                detail = json.loads(body)
            except ValueError:
                detail = body.decode("utf-8", "replace")
            return error.code, "", detail

    def _json(self, method: str, path: str, params: dict | None = None, ok=(200,)):
        url = self._url(path, params)
        status, _, body = self._request(method, url)
        if status not in ok:
            raise MaildogError(status, body, url)
        return json.loads(body) if body else None

    def _bytes(self, path: str) -> bytes:
        url = self._url(path)
        status, _, body = self._request("GET", url)
        if status != 200:
            raise MaildogError(status, body, url)
        return body

    # -- inboxes -----------------------------------------------------------

    def inboxes(self) -> list[dict]:
        return self._json("GET", "inboxes/")

    def inbox(self, inbox_id: int) -> dict:
        return self._json("GET", f"inboxes/{inbox_id}/")

    def reset_credentials(self, inbox_id: int) -> dict:
        """New SMTP username and password for the inbox (team owners and admins)."""
        return self._json("POST", f"inboxes/{inbox_id}/reset-credentials/")

    # -- messages ----------------------------------------------------------

    @staticmethod
    def _filters(
        to=None, sender=None, subject=None, text=None, received_after=None, after_seq=None, after=None, q=None
    ):
        return {
            "q": q,
            "to": to,
            "from": sender,
            "subject": subject,
            "text": text,
            "received_after": received_after.isoformat() if hasattr(received_after, "isoformat") else received_after,
            "after_seq": after_seq,
            "after": after,
        }

    def messages(self, inbox_id: int, *, limit: int = 50, **filters) -> list[Message]:
        """Summaries of the newest `limit` messages matching the filters (all must match).

        Filters: `q` (a search query, as on the inbox page: `q='from:billing has:attachment "invoice"'`),
        `to`, `sender`, `subject`, `text` (these words, any case, the last one possibly cut short),
        `received_after` (datetime or ISO string), `after_seq`, `after` (message id).
        """
        params = {**self._filters(**filters), "limit": limit}
        page = self._json("GET", f"inboxes/{inbox_id}/messages/", params)
        return [Message(item, self) for item in page["results"]]

    def message(self, inbox_id: int, message_id: int) -> Message:
        return Message(self._json("GET", f"inboxes/{inbox_id}/messages/{message_id}/"), self)

    def wait_for_message(self, inbox_id: int, *, timeout: float = 30.0, **filters) -> Message:
        """The earliest message matching the filters, waiting for it to arrive if needed.

        The filters are those of `messages` (`q=` included). The server holds the
        request until a matching message is stored (it does not poll). Pass
        `after_seq` (the inbox's `last_seq` before the test acted)
        to wait only for new mail. Raises MaildogTimeout after `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        params = self._filters(**filters)
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            wait = min(remaining, SERVER_MAX_WAIT)
            url = self._url(f"inboxes/{inbox_id}/messages/wait/", {**params, "timeout": f"{wait:.3f}"})
            status, _, body = self._request("GET", url, timeout=wait + HTTP_MARGIN)
            if status == 200:
                return Message(json.loads(body), self)
            if status != 408:
                raise MaildogError(status, body, url)
            if time.monotonic() >= deadline:
                wanted = {name: value for name, value in filters.items() if value is not None}
                raise MaildogTimeout(f"No message matching {wanted} arrived in inbox {inbox_id} within {timeout:g} s.")

    def report(self, inbox_id: int, message_id: int, *, timeout: float = 30.0) -> Report:
        """The report on a message, waiting (up to `timeout` seconds) while it is still being made."""
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            data = self._json("GET", f"inboxes/{inbox_id}/messages/{message_id}/report/")
            if data["status"] != "pending":
                return Report(data)
            if time.monotonic() >= deadline:
                raise MaildogTimeout(f"The report on message {message_id} was not ready within {timeout:g} s.")
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 1.0)

    def rerun_report(self, inbox_id: int, message_id: int) -> Report:
        """Make the report on a message again now (after changing the inbox's report settings)."""
        return Report(self._json("POST", f"inboxes/{inbox_id}/messages/{message_id}/report/rerun/"))

    def raw(self, inbox_id: int, message_id: int) -> bytes:
        return self._bytes(f"inboxes/{inbox_id}/messages/{message_id}/raw/")

    def attachment(self, inbox_id: int, message_id: int, index: int) -> bytes:
        return self._bytes(f"inboxes/{inbox_id}/messages/{message_id}/attachments/{index}/")

    def delete(self, inbox_id: int, message_id: int) -> None:
        self._json("DELETE", f"inboxes/{inbox_id}/messages/{message_id}/", ok=(204,))

    def clear(self, inbox_id: int) -> int:
        """Delete all of the inbox's messages; returns how many there were."""
        return self._json("DELETE", f"inboxes/{inbox_id}/messages/")["deleted"]

    # -- fault rules (docs/faults.md) ---------------------------------------

    def _send_json(self, method: str, path: str, payload: dict, ok=(200, 201)):
        url = self._url(path)
        request = urllib.request.Request(
            url,
            data=json.dumps(payload).encode(),
            method=method,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        if status not in ok:
            try:
                detail = json.loads(body)
            except ValueError:
                detail = body.decode("utf-8", "replace")
            raise MaildogError(status, detail, url)
        return json.loads(body) if body else None

    def fault_rules(self, inbox_id: int) -> list[dict]:
        """The inbox's fault rules, with how often each fired (`hits`) and what is left (`remaining`)."""
        return self._json("GET", f"inboxes/{inbox_id}/faults/")

    def add_fault_rule(self, inbox_id: int, **rule) -> dict:
        """Create a fault rule (the fields of the API: name, stage, reply, delay, disconnect, remaining, ...)."""
        return self._send_json("POST", f"inboxes/{inbox_id}/faults/", rule)

    def delete_fault_rule(self, inbox_id: int, rule_id: int) -> None:
        self._json("DELETE", f"inboxes/{inbox_id}/faults/{rule_id}/", ok=(204, 404))

    def injected_faults(self, inbox_id: int) -> list[dict]:
        """The faults injected into the inbox's SMTP sessions lately, newest first."""
        return self._json("GET", f"inboxes/{inbox_id}/faults/injected/")

    @contextlib.contextmanager
    def faults(
        self,
        inbox_id: int,
        *,
        auth: str | None = None,
        mail: str | None = None,
        rcpt: str | None = None,
        data: str | None = None,
        delay: float | None = None,
        at: str = "data",
        disconnect: bool = False,
        count: int | None = None,
        probability: float | None = None,
        rcpt_matches: str | None = None,
        sender_matches: str | None = None,
        expires_in: float | None = 3600,
        name: str | None = None,
    ):
        """Fault rules for the duration of a `with` block, removed on exit (also when the block fails).

        `auth`, `mail`, `rcpt`, `data`: the reply that command gets instead of its
        normal one ("550 5.1.1 No such user", or just "451"). `delay`: seconds
        before the reply of the command `at` ("data" by default: after the
        message is stored, before its 250). `disconnect`: close the connection
        after DATA, without a reply (nothing is stored). `count`: for the next N
        messages only; `probability`: the chance per message; `rcpt_matches` and
        `sender_matches`: patterns (* and ?) the message must match. Rules
        expire after `expires_in` seconds anyway, so a killed test run leaves
        none behind for long. Yields the created rules (dicts).

            with inbox.faults(rcpt="550 5.1.1 No such user", count=1):
                with pytest.raises(SMTPRecipientsRefused):
                    send_signup_mail()
        """
        replies = {stage: reply for stage, reply in (("auth", auth), ("mail", mail), ("rcpt", rcpt), ("data", data))}
        stages = {stage: {"reply": reply} for stage, reply in replies.items() if reply is not None}
        if delay is not None:
            stages.setdefault(at, {})["delay"] = delay
        if disconnect:
            stages.setdefault("data", {})["disconnect"] = True
        if not stages:
            raise ValueError("Give a reply for a command (auth, mail, rcpt, data), a delay, or disconnect=True.")
        common: dict = {"remaining": count, "expires_in": expires_in}
        if probability is not None:
            common["probability"] = probability
        if rcpt_matches:
            common["match_rcpt"] = rcpt_matches
        if sender_matches:
            common["match_sender"] = sender_matches
        base = name or f"pytest-{next(_rule_numbers)}-{int(time.time() * 1000) % 10**8}"
        created: list[dict] = []
        try:
            for stage, fields in stages.items():
                rule_name = base if len(stages) == 1 else f"{base}-{stage}"
                payload = {"name": rule_name, "stage": stage, **common, **fields}
                if stage in ("auth", "mail"):
                    payload.pop("match_rcpt", None)
                if stage == "auth":
                    payload.pop("match_sender", None)
                created.append(self.add_fault_rule(inbox_id, **payload))
            yield created
        finally:
            for rule in created:
                self.delete_fault_rule(inbox_id, rule["id"])

    def watch(self, inbox_id: int) -> "InboxWatch":
        """The inbox from now on: waits see only messages that arrive after this call."""
        return InboxWatch(self, inbox_id, self.inbox(inbox_id)["last_seq"])


class InboxWatch:
    """One inbox seen from a point in time (what the `maildog` pytest fixture gives a test)."""

    def __init__(self, client: MaildogClient, inbox_id: int, after_seq: int):
        self.client = client
        self.inbox_id = inbox_id
        self.after_seq = after_seq

    def wait_for_message(self, *, timeout: float = 30.0, **filters) -> Message:
        """The next message matching the filters that arrived after the watch began."""
        filters.setdefault("after_seq", self.after_seq)
        return self.client.wait_for_message(self.inbox_id, timeout=timeout, **filters)

    def messages(self, **filters) -> list[Message]:
        """Messages that arrived since the watch began, newest first."""
        filters.setdefault("after_seq", self.after_seq)
        return self.client.messages(self.inbox_id, **filters)

    def clear(self) -> int:
        return self.client.clear(self.inbox_id)

    def faults(self, **rules):
        """Fault rules on this inbox for a `with` block (`MaildogClient.faults`)."""
        return self.client.faults(self.inbox_id, **rules)
