"""Checking an inbox's SMTP credentials."""

import hmac

from .models import Inbox


def find_inbox_id(username: str, password: str) -> int | None:
    """The id of the inbox these credentials open, or None.

    The password comparison takes the same time whether it matches or not.
    """
    row = Inbox.objects.filter(smtp_username=username).values_list("pk", "smtp_password").first()
    if row is None:
        # Compare anyway, so an unknown user is not answered faster.
        hmac.compare_digest(password.encode(), b"-" * len(password.encode()))
        return None
    inbox_id, expected = row
    return inbox_id if hmac.compare_digest(password.encode(), expected.encode()) else None
