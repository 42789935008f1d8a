"""The replies a fault rule may give: a code Maildog allows, and a text it writes safely."""

import re

from django.core.exceptions import ValidationError

# The codes a rule may answer with, and the text used when a rule gives only the code.
DEFAULT_TEXTS = {
    421: "4.3.2 Service not available, closing connection",
    450: "4.2.1 Mailbox temporarily unavailable, try again later",
    451: "4.3.0 Local error in processing, try again later",
    452: "4.3.1 Insufficient system storage, try again later",
    550: "5.1.1 Mailbox unavailable",
    552: "5.3.4 Message too big for this mailbox",
    554: "5.7.1 Transaction failed",
}
CODES = tuple(DEFAULT_TEXTS)
MAX_TEXT = 200
_REPLY = re.compile(r"(?P<code>\d{3})(?:[ -](?P<text>.*))?", re.DOTALL)
# Printable ASCII: a reply line cannot carry anything else (and no CR or LF).
_TEXT = re.compile(r"[\x20-\x7e]*")


def normalize_reply(value: str) -> str:
    """`value` as the reply line a rule sends ("550" or "550 5.1.1 No such user"); ValidationError if not allowed."""
    value = (value or "").strip()
    found = _REPLY.fullmatch(value)
    if found is None:
        raise ValidationError("A reply starts with its three-digit code, e.g. “550 5.1.1 No such user”.")
    code = int(found.group("code"))
    if code not in DEFAULT_TEXTS:
        raise ValidationError(f"The reply code must be one of {', '.join(map(str, CODES))}.")
    text = (found.group("text") or "").strip()
    if not _TEXT.fullmatch(text):
        raise ValidationError("The reply text may only contain printable ASCII characters.")
    if len(text) > MAX_TEXT:
        raise ValidationError(f"The reply text is at most {MAX_TEXT} characters.")
    return f"{code} {text or DEFAULT_TEXTS[code]}"


def reply_code(reply: str) -> int:
    return int(reply[:3])
