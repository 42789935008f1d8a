"""The message list's pages: keyset by sequence number, so a page deep in a million messages costs
what the first one does.

Without `offset` a page is the newest `limit` messages below `before_seq` (or from the top), and
`next` carries the `before_seq` of the page after it: a client walks the list by following `next`,
and a message that arrives meanwhile neither shifts nor repeats a page. `count` is exact up to
10,000 (`count_exact` false above it, or when counting would take longer than the page may: then
`count` is the lower bound reached, or null).

`offset` still works as before (older clients): it counts every match and skips rows, which costs
more the deeper the page.
"""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from inboxes.models import Message
from inboxes.search import Search

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
COUNT_CAP = 10_000  # exact up to this; then "10,000 or more"


class OffsetPagination(LimitOffsetPagination):
    """The older offset pages, in the same envelope as the keyset pages (their count is always exact)."""

    default_limit = DEFAULT_LIMIT
    max_limit = MAX_LIMIT

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["count_exact"] = True
        return response

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count"].update(
            nullable=True, description="Matches, exact up to 10,000 (see count_exact); null when not counted in time."
        )
        response["properties"]["count_exact"] = {"type": "boolean", "description": "Whether count is exact."}
        return response


def _positive_int(params, name: str, default: int | None) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValidationError({name: "Expected an integer."}) from None
    if number < 1:
        raise ValidationError({name: "Expected a positive integer."})
    return number


def keyset_page(request, search: Search) -> tuple[list[Message], dict]:
    """One page of `search`'s matches, newest first, and the envelope around it (count, next, previous)."""
    params = request.query_params
    limit = min(_positive_int(params, "limit", DEFAULT_LIMIT) or DEFAULT_LIMIT, MAX_LIMIT)
    before_seq = _positive_int(params, "before_seq", None)
    ids = search.page(before_seq=before_seq, limit=limit + 1)
    more = len(ids) > limit
    by_id = Message.objects.in_bulk(ids[:limit])
    messages = [by_id[pk] for pk in ids[:limit] if pk in by_id]
    counted = search.bounded_count(caps=(COUNT_CAP, COUNT_CAP // 10))
    url = request.build_absolute_uri()
    envelope = {
        "count": counted[0] if counted is not None else None,
        "count_exact": counted is not None and not counted[1],
        "next": replace_query_param(url, "before_seq", messages[-1].seq) if more and messages else None,
        # The first page is the way back to the top; earlier pages are the client's to remember.
        "previous": remove_query_param(url, "before_seq") if before_seq is not None else None,
    }
    return messages, envelope


def page_response(envelope: dict, results: list) -> Response:
    return Response({**envelope, "results": results})
