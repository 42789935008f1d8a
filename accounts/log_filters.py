"""Keep invitation tokens out of the logs.

An invitation's token is in its URL (`/invitations/<token>/...`), and Django
logs the path of every 4xx/5xx answer ("Not Found: /invitations/..."), of CSRF
failures, and of every request in the development servers. Anyone who can read
the logs could otherwise join a team with a token found there.
`RedactInvitationTokens` rewrites such records before any handler sees them;
`AccountsConfig.ready()` installs it on the loggers that write request paths.
"""

import logging
import re

# The loggers that write a request's path (a filter on a logger only sees the
# records created on that very logger, so each one is named).
REQUEST_PATH_LOGGERS = (
    "django.request",
    "django.security.csrf",
    "django.server",
    "django.channels.server",
)

_TOKEN_IN_PATH = re.compile(r"(/invitations/)[^/\s?#\"']+")
REDACTED = r"\1[redacted]"


def redact(text: str) -> str:
    """`text` with every invitation token in a path replaced by `[redacted]`."""
    return _TOKEN_IN_PATH.sub(REDACTED, text)


class RedactInvitationTokens(logging.Filter):
    """Rewrites a record's message with invitation tokens redacted; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def install() -> None:
    """Attach the filter to every logger in REQUEST_PATH_LOGGERS (once)."""
    for name in REQUEST_PATH_LOGGERS:
        log = logging.getLogger(name)
        if not any(isinstance(existing, RedactInvitationTokens) for existing in log.filters):
            log.addFilter(RedactInvitationTokens())
