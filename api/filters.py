"""Message search filters, shared by the message list and the waiting endpoint.

Everything goes through the one search language (`inboxes.search`): `q` is a
query in it, and the older field parameters are terms of the same query.
"""

from dataclasses import dataclass

from rest_framework.exceptions import ValidationError

from inboxes.search import QueryError, Search, parse
from inboxes.search.query import Condition, Query, read_time, text_term


@dataclass
class MessageFilters:
    """Filters from query parameters (all must match).

    - `q`: a search query (docs/search.md), e.g. `from:billing has:attachment "your invoice"`
    - `to`: an envelope recipient or the To/Cc headers, as `to:` in a query
    - `from`: the envelope sender or the From header, as `from:`
    - `subject`, `text` (the plain-text body, or the HTML's text): the words in
      that order, the last one also as the beginning of a word
    - `received_after` (ISO 8601), `after_seq` (the inbox's sequence number),
      `after` (a message id): only messages received later
    """

    query: Query

    PARAMETERS = ("q", "to", "from", "subject", "text", "received_after", "after_seq", "after")
    FIELDS = {"to": "to", "from": "from", "subject": "subject", "text": "body"}

    @classmethod
    def from_query(cls, params) -> "MessageFilters":
        """Read the filters from a QueryDict; a malformed value raises ValidationError (400)."""
        errors = {}
        query = Query()
        if params.get("q", "").strip():
            try:
                query = parse(params["q"])
            except QueryError as error:
                errors["q"] = str(error)
        for name, field in cls.FIELDS.items():
            value = params.get(name, "").strip()
            if value:
                try:
                    term = text_term(value, field, phrase=True)
                except QueryError as error:
                    errors[name] = str(error)
                    continue
                # A field filter matches like a substring of a whole value: the last word may be cut short.
                query.texts.append(type(term)(term.words, term.field, True, False))
        if params.get("received_after"):
            try:
                received, _ = read_time(params["received_after"], "received_after")
            except QueryError:
                errors["received_after"] = "Expected an ISO 8601 date and time, e.g. 2024-05-01T12:00:00Z."
            else:
                query.conditions.append(Condition("received", ">", received))
        for name, kind in (("after_seq", "seq"), ("after", "pk")):
            value = params.get(name)
            if value:
                try:
                    query.conditions.append(Condition(kind, ">", int(value)))
                except ValueError:
                    errors[name] = "Expected an integer."
        if errors:
            raise ValidationError(errors)
        return cls(query)

    def search(self, inbox_id: int) -> Search:
        return Search(inbox_id, self.query)

    def apply(self, messages, inbox_id: int):
        """The messages of `messages` (one inbox's) that match."""
        return self.search(inbox_id).queryset(messages)
