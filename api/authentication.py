"""API token authentication: `Authorization: Bearer <key>` (or `Token <key>`)."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from api.models import ApiToken
from api.tokens import hash_key

KEYWORDS = (b"bearer", b"token")
# Recording every use would turn each read into a write; a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def authenticate_key(header: bytes):
    """(user, token) for an Authorization header, None if it carries no token.

    Raises AuthenticationFailed for a malformed header, an unknown (or revoked)
    key, or an inactive user.
    """
    parts = header.split()
    if not parts or parts[0].lower() not in KEYWORDS:
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed("Invalid Authorization header: expected 'Bearer <key>'.")
    try:
        key = parts[1].decode("ascii")
    except UnicodeDecodeError:
        raise exceptions.AuthenticationFailed("Invalid API token.") from None
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_key(key)).first()
    if token is None or not token.user.is_active:
        raise exceptions.AuthenticationFailed("Invalid API token.")
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token.user, token


class ApiTokenAuthentication(BaseAuthentication):
    """DRF authentication with Maildog API tokens; `request.auth` is the ApiToken."""

    def authenticate(self, request):
        return authenticate_key(get_authorization_header(request))

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) when no or a bad token is sent.
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Describes the token in the OpenAPI schema (registered by defining it)."""

    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from Maildog's API tokens page: `Authorization: Bearer mdg_…`.",
        }
