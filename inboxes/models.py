import functools
import secrets

from django.conf import settings
from django.db import connection, models
from django.urls import reverse
from django.utils import timezone

from accounts.models import Team

from .links import message_url


def generate_smtp_username():
    return secrets.token_hex(7)


def generate_smtp_password():
    """24 URL-safe characters (144 random bits), never starting with "-".

    Command-line clients (swaks, curl) would read a leading "-" as an option.
    Drawing again keeps every allowed password equally likely.
    """
    while True:
        password = secrets.token_urlsafe(18)
        if not password.startswith("-"):
            return password


def default_max_messages():
    return settings.MAILDOG_MAX_MESSAGES_PER_INBOX


class Inbox(models.Model):
    """A mailbox that catches what an application sends with its credentials."""

    team = models.ForeignKey(Team, models.CASCADE, related_name="inboxes")
    name = models.CharField(max_length=100)
    smtp_username = models.CharField(max_length=64, unique=True, default=generate_smtp_username)
    # Shown to the team on the Integration tab, so it is kept retrievable; it
    # only grants the right to drop mail into this sandbox inbox.
    smtp_password = models.CharField(max_length=128, default=generate_smtp_password)
    max_messages = models.PositiveIntegerField(default=default_max_messages)
    # The list marks failing SPF/DKIM/DMARC always, passing only where the team asks for it (this inbox).
    mark_passing_mail = models.BooleanField(default=False)
    # Number of messages ever received; each message takes the next value, so
    # the cap is one indexed range delete and clients can catch up by sequence.
    last_seq = models.BigIntegerField(default=0, editable=False)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "inboxes"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("inboxes:inbox", args=[self.pk])

    def reset_credentials(self):
        self.smtp_username = generate_smtp_username()
        self.smtp_password = generate_smtp_password()
        self.save(update_fields=["smtp_username", "smtp_password"])


class SearchVectorField(models.Field):
    """The message's words for PostgreSQL's full-text index (a `tsvector`).

    Built in Python (`inboxes.search.document`), which costs a fraction of
    PostgreSQL's own `to_tsvector`. SQLite keeps its index in an FTS5 table and
    keeps here only the whole-address words that its triggers add to it.
    Ingest on PostgreSQL saves INDEX_LATER: the row is saved with NULL and the
    indexer writes the words after the 250 (inboxes.search.indexer).
    """

    # A value for new rows whose words are written later (saved as NULL).
    INDEX_LATER = object()

    def db_type(self, connection):
        return "tsvector" if connection.vendor == "postgresql" else "text"

    def pre_save(self, model_instance, add):
        """A new message gets its search words however it is created (ingest, bulk_create, a test's create);
        on SQLite the column holds the whole-address words FTS5's triggers add (inboxes.search.index)."""
        value = getattr(model_instance, self.attname)
        if value is self.INDEX_LATER:
            setattr(model_instance, self.attname, None)
            return None
        if value is None and add:
            value = _search_document().search_terms(model_instance, connection.vendor)
            setattr(model_instance, self.attname, value)
        return value


@functools.cache
def _search_document():
    # Imported on first use (inboxes.search imports this module), then looked up once.
    from .search import document

    return document


class MessageQuerySet(models.QuerySet):
    def newest_first(self):
        return self.order_by("-seq")


class MessageManager(models.Manager.from_queryset(MessageQuerySet)):
    def get_queryset(self):
        # The raw source can be megabytes, the search words kilobytes: load them only when asked for.
        return super().get_queryset().defer("raw", "search_vector")


class Message(models.Model):
    """One captured message: the bytes exactly as received plus what was parsed."""

    # No index of its own: the unique (inbox, seq) index starts with it and serves every lookup by
    # inbox, and one index fewer is one write fewer for each message stored (and, on PostgreSQL, for
    # the search indexer's update of each row).
    inbox = models.ForeignKey(Inbox, models.CASCADE, related_name="messages", db_index=False)
    seq = models.BigIntegerField()
    received_at = models.DateTimeField(default=timezone.now)

    # Envelope
    envelope_from = models.TextField(blank=True)
    envelope_to = models.JSONField(default=list)

    # Parsed summary (best effort: a broken message keeps what could be read)
    subject = models.TextField(blank=True)
    from_header = models.TextField(blank=True)
    to_header = models.TextField(blank=True)
    cc_header = models.TextField(blank=True)
    date = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    text_body = models.TextField(blank=True, help_text="Plain text for search (the text part, or the HTML's text).")
    has_attachments = models.BooleanField(default=False)
    attachment_names = models.TextField(blank=True, help_text="Attachment file names, one a line (for search).")
    search_vector = SearchVectorField(null=True, blank=True, editable=False)
    has_long_lines = models.BooleanField(
        default=False, help_text="A line exceeded SMTP's 1,000 octets; real servers may reject or break it."
    )
    parse_errors = models.JSONField(default=list, blank=True)

    # SPF/DKIM/DMARC results (the deliverability app), filled in after the message is stored (never before the 250)
    deliverability_verdict = models.CharField(max_length=16, blank=True, help_text="Empty until the checks ran.")
    deliverability_results = models.JSONField(null=True, blank=True)
    deliverability_checked_at = models.DateTimeField(null=True, blank=True)

    # Session facts
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    helo = models.CharField(max_length=255, blank=True)
    tls_version = models.CharField(max_length=32, blank=True)
    tls_cipher = models.CharField(max_length=128, blank=True)
    smtp_username = models.CharField(
        max_length=255, blank=True, help_text="The username the client logged in with (SMTP AUTH)."
    )

    size = models.PositiveIntegerField()
    is_read = models.BooleanField(default=False)
    raw = models.BinaryField()

    objects = MessageManager()

    class Meta:
        indexes = [models.Index(fields=["message_id"], name="message_message_id")]
        constraints = [
            # Also the index behind an inbox's newest-first list.
            models.UniqueConstraint(fields=["inbox", "seq"], name="message_unique_inbox_seq"),
        ]

    def __str__(self):
        return self.subject or "(no subject)"

    def get_absolute_url(self):
        return message_url(self.inbox_id, self.pk)
