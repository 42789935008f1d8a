from django import template

from ..models import Webhook

register = template.Library()


@register.simple_tag
def disabled_webhooks(inbox):
    """The inbox's webhooks that were disabled after failing (a notice for the team)."""
    return list(Webhook.objects.filter(inbox=inbox, enabled=False).exclude(disabled_reason=""))
