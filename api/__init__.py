"""Maildog's JSON API (`/api/v1/`) and the API tokens it authenticates with.

Built on `inboxes` (what it reads and changes, through `inboxes.access`);
nothing in `inboxes` or `accounts` imports it.
"""
