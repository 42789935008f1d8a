"""Maildog's JSON API (`/api/v1/`): inboxes and captured messages for CI and end-to-end tests."""
