"""API token keys: made here, shown once, stored only as a SHA-256 hash."""

import hashlib
import secrets

from .models import ApiToken

KEY_PREFIX = "mdg_"
PREFIX_LENGTH = 12


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def issue_token(user, name: str, inbox=None) -> tuple[ApiToken, str]:
    """Create a token and return it with its key; the key cannot be recovered later.

    The key carries 256 random bits, so a plain hash (not a slow password hash)
    is enough: guessing is hopeless and lookups stay one indexed query.
    """
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, inbox=inbox, key_hash=hash_key(key), prefix=key[:PREFIX_LENGTH]
    )
    return token, key
