"""`preferences` in every template: the signed-in person's page preferences (accounts.Preferences), read once
per request and only if a template asks."""

from django.utils.functional import SimpleLazyObject

from .models import Preferences


def preferences(request):
    return {"preferences": SimpleLazyObject(lambda: Preferences.of(request.user))}
