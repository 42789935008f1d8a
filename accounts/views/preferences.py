"""A person's page preferences, saved as they change them (the pages post each choice)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.http import require_POST

from ..models import Preferences

# What a page may set, and how its posted value reads.
CHOICES = {"checks_details_open": {"1": True, "0": False}}


@login_required
@require_POST
def preferences_update(request):
    """Set the posted choices (e.g. checks_details_open=1); 204, or 400 naming what it cannot set."""
    changes = {}
    for name, value in request.POST.items():
        if name == "csrfmiddlewaretoken":
            continue
        allowed = CHOICES.get(name)
        if allowed is None or value not in allowed:
            return HttpResponseBadRequest(f"Cannot set {name[:50]!r} to {value[:10]!r}.", content_type="text/plain")
        changes[name] = allowed[value]
    if changes:
        # update_or_create: two pages posting at once for someone new make one row, not an error.
        Preferences.objects.update_or_create(user=request.user, defaults=changes)
    return HttpResponse(status=204)
