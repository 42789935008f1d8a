"""What the rest of Maildog can react to, so that `inboxes` never calls the apps built on it.

`message_stored` is sent (with `asend`, from the SMTP process's event loop)
once a message is committed and its 250 decided; receivers such as the
deliverability checks queue their work and return at once. `ingest_started`
and `ingest_stopping` bracket an SMTP process's life, so background work can
resume what the last process left and finish (or hand back) what is queued.
"""

from django.dispatch import Signal

# sender: Message class; message: the stored Message (without its raw source).
message_stored = Signal()
# sender: the SMTP service; busy: a callable telling whether messages are being stored right now.
ingest_started = Signal()
# sender: the SMTP service; grace: seconds the process may still take to stop.
ingest_stopping = Signal()
