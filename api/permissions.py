"""The API's DRF permission: the access policy's rule for inbox-scoped tokens.

Which inboxes and messages a token reaches is `inboxes.access` (`visible_inboxes`,
`get_inbox`, `get_message`, `get_managed_inbox`), the same policy the pages and
websockets use: outside that reach an id answers 404, never 403.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from inboxes.access import token_may_write


class ScopedTokenReadOnly(BasePermission):
    """An inbox-scoped token (for CI) may only read."""

    message = "This token can only read its inbox."

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or token_may_write(request.auth)
