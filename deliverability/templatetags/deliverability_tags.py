"""`{% auth_marker message %}` and `{{ verdict|verdict_label }}` (deliverability.markers)."""

from django import template

from .. import markers

register = template.Library()


@register.simple_tag
def auth_marker(message):
    return markers.marker(message)


@register.filter
def verdict_label(verdict):
    return markers.verdict_label(verdict)
