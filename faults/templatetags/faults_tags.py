from django import template

register = template.Library()


@register.simple_tag
def message_faults(message):
    """The faults injected into the SMTP transaction that stored `message` (oldest first)."""
    return list(message.injected_faults.order_by("id"))
