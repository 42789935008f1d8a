"""Search: one query language (`query`), one index per database (`index`), one way to run it (`backend`).

The inbox page, the API (`q=` and its field filters), the waiting endpoint and
bulk actions on a whole result all go through `Search`.
"""

from .backend import COUNT_CAP, Search
from .query import Query, QueryError, parse

__all__ = ["COUNT_CAP", "Query", "QueryError", "Search", "parse", "search"]


def search(inbox_id: int, text: str) -> Search:
    """A Search of the inbox for the query text; raises QueryError when it is malformed."""
    return Search(inbox_id, parse(text))
