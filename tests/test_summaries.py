"""Live events and the API describe a message the same way: one summary."""

import pytest
from django.test import Client
from django.urls import reverse

from inboxes.events import new_message_event

from .conftest import store_message


@pytest.mark.parametrize(
    "raw",
    [
        b"From: App <app@example.com>\r\nTo: ann@example.com\r\nCc: boss@example.com\r\nSubject: Hi\r\n\r\nx\r\n",
        b"Subject: no From header\r\n\r\nx\r\n",
    ],
)
def test_event_and_api_summaries_agree(owner, inbox, api_key, raw):
    message = store_message(inbox, raw, mail_from="bounce@example.com", rcpt_tos=["ann@example.com"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {api_key(owner)}")
    [listed] = api.get(reverse("api:message-list", args=[inbox.pk])).json()["results"]
    event = new_message_event(message)["message"]
    shared = set(event) - {"url"}
    assert shared <= set(listed)
    assert {key: listed[key] for key in shared} == {key: event[key] for key in shared}
    # "from" is the From header as written; the envelope sender is always beside it.
    assert event["from"] == ("App <app@example.com>" if b"From:" in raw else "")
    assert event["envelope_from"] == "bounce@example.com"
