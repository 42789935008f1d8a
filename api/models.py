from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiToken(models.Model):
    """A key for the JSON API. Only its hash is stored; the key is shown once.

    A token with an inbox can only read that inbox (for CI); without one it
    acts for its user on the user's teams.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="The key's first characters, to recognise it.")
    inbox = models.ForeignKey("inboxes.Inbox", models.CASCADE, null=True, blank=True, related_name="api_tokens")
    created = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"
