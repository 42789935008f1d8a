"""What other apps can react to in the checks' work, so that the checks never call them.

`checks_finished` is sent once the SPF/DKIM/DMARC results of messages are
saved: with `asend` on the event loop of the checks' queue, and with `send`
after the commit of a re-run (`check_message`, from a view). Receivers must
return at once (queue their work).

`checks_process_started` and `checks_process_stopping` bracket the life of a
checks process of its own (`manage.py runchecks`), as `inboxes.signals`'
ingest signals bracket an SMTP process's: what reacts to finished checks can
run its own background work there (the webhooks' worker sends
`message.checked` from the process that made the verdicts, at once).
"""

from django.dispatch import Signal

# sender: the CheckQueue class; messages: the checked Messages (their ids, inbox ids and verdicts are loaded).
checks_finished = Signal()
# sender: the runchecks Command class.
checks_process_started = Signal()
# sender: the runchecks Command class; grace: seconds the process may still take to stop.
checks_process_stopping = Signal()
