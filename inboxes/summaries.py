"""The one JSON summary of a message, for live events and the API's lists alike.

`from`, `to` and `cc` are the message's own headers as written (decoded), empty
when the message has none; what the SMTP envelope said is always beside them in
`envelope_from` and `envelope_to`. A reader that wants "who sent it" shows
`from` and falls back to `envelope_from`, as the message list does.
"""


def message_summary(message) -> dict:
    """The fields a message list shows, as JSON-ready values (callers add the `url` they serve)."""
    return {
        "id": message.pk,
        "inbox_id": message.inbox_id,
        "seq": message.seq,
        "received_at": message.received_at.isoformat().replace("+00:00", "Z"),
        "subject": message.subject,
        "from": message.from_header,
        "to": message.to_header,
        "cc": message.cc_header,
        "envelope_from": message.envelope_from,
        "envelope_to": list(message.envelope_to),
        "size": message.size,
        "has_attachments": message.has_attachments,
        "is_read": message.is_read,
        "auth_verdict": message.deliverability_verdict,
    }
