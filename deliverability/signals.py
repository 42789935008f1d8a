"""What other apps can react to in the checks' work, so that the checks never call them.

`checks_finished` is sent once the SPF/DKIM/DMARC results of messages are
saved: with `asend` on the event loop of the checks' queue, and with `send`
after the commit of a re-run (`check_message`, from a view). Receivers must
return at once (queue their work).
"""

from django.dispatch import Signal

# sender: the CheckQueue class; messages: the checked Messages (their ids, inbox ids and verdicts are loaded).
checks_finished = Signal()
