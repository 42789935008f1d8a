"""What other apps can react to in the checks' work, so that the checks never call them.

`checks_finished` is sent (with `asend`, on the event loop of the checks'
queue) once the SPF/DKIM/DMARC results of a batch of messages are saved;
receivers must return at once (queue their work).
"""

from django.dispatch import Signal

# sender: the CheckQueue class; messages: the checked Messages (their ids, inbox ids and verdicts are loaded).
checks_finished = Signal()
