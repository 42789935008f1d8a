"""Moving ApiToken from `accounts` to `api` keeps every existing token: a key issued
before the move still authenticates after `migrate`, staff keep their token
permissions, and migrating back (a rolled-back deploy) keeps the tokens too.
"""

import hashlib

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.exceptions import AuthenticationFailed

from api.authentication import authenticate_key

# The last state in which ApiToken lived in accounts (its table accounts_apitoken).
BEFORE_MOVE = [("accounts", "0003_invitation_expiry_and_decline")]
KEY = "mdg_made-before-the-move-0123456789abcdefghijklmnop"


def migrate(targets):
    """Migrate the test database to `targets` and return the historical apps at that state."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    # A fresh loader sees what is applied now (the executor's graph is from before).
    return MigrationExecutor(connection).loader.project_state(targets).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_tokens_and_permissions_made_before_the_move_survive_it():
    try:
        old_apps = migrate(BEFORE_MOVE)
        User = old_apps.get_model(settings.AUTH_USER_MODEL)
        OldApiToken = old_apps.get_model("accounts", "ApiToken")
        Permission = old_apps.get_model("auth", "Permission")
        user = User.objects.create(username="ci", email="ci@example.com", is_active=True, is_staff=True)
        # As the old code stored it: the key's SHA-256, its first 12 characters.
        OldApiToken.objects.create(
            user=user, name="made before the move", key_hash=hashlib.sha256(KEY.encode()).hexdigest(), prefix=KEY[:12]
        )
        user.user_permissions.add(Permission.objects.get(content_type__app_label="accounts", codename="view_apitoken"))

        migrate(latest())
        token_user, token = authenticate_key(b"Bearer " + KEY.encode())
        assert (token_user.username, token.name, token.prefix) == ("ci", "made before the move", KEY[:12])
        assert token._meta.app_label == "api"
        assert get_user_model().objects.get(username="ci").has_perm("api.view_apitoken")

        # Rolled back: the old app finds the same token.
        old_apps = migrate(BEFORE_MOVE)
        kept = old_apps.get_model("accounts", "ApiToken").objects.get()
        assert (kept.name, kept.user.username, kept.last_used_at is not None) == ("made before the move", "ci", True)
    finally:
        migrate(latest())
    with pytest.raises(AuthenticationFailed):
        authenticate_key(b"Bearer mdg_never-issued")
    assert authenticate_key(b"Bearer " + KEY.encode())[1].name == "made before the move"
