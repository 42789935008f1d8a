"""The address of a message's page, made without a reverse() per message."""

from django.urls import get_script_prefix, reverse

# Stand-ins for the ids in the message page's address, made once with reverse() (message_url).
_STAND_IN_INBOX, _STAND_IN_MESSAGE = "918273645546372819", "192837465564738291"
_message_url_parts: dict[str, tuple[str, str, str]] = {}


def message_url(inbox_id: int, message_id: int) -> str:
    """The message page's address (`Message.get_absolute_url()`).

    reverse() reads the URL configuration, script prefix and language from
    context-local storage each time: 6% of the SMTP process's time when every
    stored message's live event called it, and a tenth of an inbox page's
    rendering (50 rows). The address is made once per script prefix, around
    stand-in ids, and each message's ids are put in their place.
    """
    prefix = get_script_prefix()
    parts = _message_url_parts.get(prefix)
    if parts is None:
        url = reverse("inboxes:message", args=[int(_STAND_IN_INBOX), int(_STAND_IN_MESSAGE)])
        before, _, rest = url.partition(_STAND_IN_INBOX)
        between, _, after = rest.partition(_STAND_IN_MESSAGE)
        parts = _message_url_parts[prefix] = (before, between, after)
    before, between, after = parts
    return f"{before}{inbox_id}{between}{message_id}{after}"
