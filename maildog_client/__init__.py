"""A small client for Maildog's API, for CI jobs and end-to-end tests.

Pure standard library: it imports nothing from Django or Maildog's server, so a
project's test suite can use it whatever its own settings are.

    from maildog_client import MaildogClient

    client = MaildogClient("https://maildog.example.com", token="mdg_…")
    message = client.wait_for_message(inbox_id, to="ann@example.com", subject="Reset")
    reset_url = message.link(r"/reset/")
"""

from .client import InboxWatch, MaildogClient, MaildogError, MaildogTimeout
from .message import Message
from .report import Finding, Report

__all__ = ["Finding", "InboxWatch", "MaildogClient", "MaildogError", "MaildogTimeout", "Message", "Report"]
