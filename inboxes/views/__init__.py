"""Inbox and message pages, one module per concept; every view goes through `access`."""
