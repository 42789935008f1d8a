"""Maildog's own emails, rendered from templates in threes (subject, text, HTML).

They go out through the configured `EMAIL_*` settings; in development those can
point at Maildog's own SMTP server, so the mail lands in a Maildog inbox.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def send_templated(name: str, to: list[str], context: dict) -> None:
    """Send `emails/<name>_subject.txt`, `_message.txt` and `_message.html` to `to`."""
    subject = " ".join(render_to_string(f"emails/{name}_subject.txt", context).split())
    text = render_to_string(f"emails/{name}_message.txt", context)
    html = render_to_string(f"emails/{name}_message.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, to)
    message.attach_alternative(html, "text/html")
    message.send()
