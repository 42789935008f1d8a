"""pytest fixtures for Maildog, registered automatically when `maildog` is installed.

Configuration from the environment:

- `MAILDOG_URL`: Maildog's address, e.g. `https://maildog.example.com`
- `MAILDOG_TOKEN`: an API token (an inbox-scoped one is enough)
- `MAILDOG_INBOX_ID`: the inbox the application under test sends to

Fixtures:

- `maildog`: that inbox from the test's start (`InboxWatch`): `maildog.wait_for_message(to=…)`
  only sees mail that arrived during the test
- `maildog_client`: a `MaildogClient`
- `maildog_config`: the settings above; override it in a conftest to configure otherwise
"""

import os
from dataclasses import dataclass

import pytest

from .client import InboxWatch, MaildogClient


@dataclass
class MaildogConfig:
    url: str
    token: str
    inbox_id: int | None = None

    @classmethod
    def from_env(cls) -> "MaildogConfig":
        missing = [name for name in ("MAILDOG_URL", "MAILDOG_TOKEN") if not os.environ.get(name)]
        if missing:
            raise pytest.UsageError(f"The maildog fixtures need {' and '.join(missing)} in the environment.")
        inbox_id = os.environ.get("MAILDOG_INBOX_ID")
        return cls(os.environ["MAILDOG_URL"], os.environ["MAILDOG_TOKEN"], int(inbox_id) if inbox_id else None)


@pytest.fixture
def maildog_config() -> MaildogConfig:
    return MaildogConfig.from_env()


@pytest.fixture
def maildog_client(maildog_config) -> MaildogClient:
    return MaildogClient(maildog_config.url, maildog_config.token)


@pytest.fixture
def maildog(maildog_client, maildog_config) -> InboxWatch:
    if maildog_config.inbox_id is None:
        raise pytest.UsageError("The maildog fixture needs MAILDOG_INBOX_ID in the environment.")
    return maildog_client.watch(maildog_config.inbox_id)
