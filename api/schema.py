"""OpenAPI schema addition: the waiting endpoint, an async view that DRF cannot introspect."""

from .filters import MessageFilters
from .wait import DEFAULT_TIMEOUT, MAX_TIMEOUT

FILTER_DESCRIPTIONS = {
    "q": 'A search query, as on the inbox page (docs/search.md): from:billing has:attachment "invoice".',
    "to": "Recipient (envelope, To or Cc) contains these words, case-insensitive.",
    "from": "Sender (envelope or From) contains these words, case-insensitive.",
    "subject": "Subject contains these words, case-insensitive.",
    "text": "The text body contains these words, case-insensitive.",
    "received_after": "Only messages received after this ISO 8601 date and time.",
    "after_seq": "Only messages with a higher inbox sequence number.",
    "after": "Only messages received after the message with this id.",
}
FILTER_TYPES = {"after_seq": "integer", "after": "integer"}


def _parameter(name, schema_type, description, location="query"):
    return {
        "name": name,
        "in": location,
        "required": location == "path",
        "schema": {"type": schema_type},
        "description": description,
    }


def add_wait_endpoint(result, generator, request, public):
    """Document `GET /api/v1/inboxes/{inbox_id}/messages/wait/`, which DRF cannot introspect."""
    parameters = [_parameter("inbox_id", "integer", "The inbox.", location="path")]
    parameters += [
        _parameter(name, FILTER_TYPES.get(name, "string"), FILTER_DESCRIPTIONS[name])
        for name in MessageFilters.PARAMETERS
    ]
    parameters.append(
        _parameter("timeout", "number", f"Seconds to wait (default {DEFAULT_TIMEOUT:g}, at most {MAX_TIMEOUT:g}).")
    )
    result.setdefault("paths", {})["/api/v1/inboxes/{inbox_id}/messages/wait/"] = {
        "get": {
            "operationId": "inboxes_messages_wait",
            "summary": "Wait for a message",
            "description": (
                "Answers at once with the earliest message matching the filters, or waits for one to "
                "arrive (woken by new-message events, not by polling) until `timeout`. Pass `after_seq` "
                "(the inbox's `last_seq` before your test acts) to wait only for new mail."
            ),
            "tags": ["inboxes"],
            "parameters": parameters,
            "security": [{"apiToken": []}],
            "responses": {
                "200": {
                    "description": "The message.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MessageDetail"}}},
                },
                "401": {"description": "No or an invalid token."},
                "404": {"description": "No such inbox within the token's reach."},
                "408": {"description": "No matching message arrived in time."},
                "429": {"description": "Rate limit exceeded."},
            },
        }
    }
    return result
