"""Running a parsed query against an inbox's messages, on the index of the database in use.

`Search(inbox_id, query)` answers in three shapes, all from the same compiled
query:

- `queryset()`: a Django queryset of the matching messages, for the API, the
  waiting endpoint and bulk actions (any ordering, slicing, update, delete);
- `page(...)`: one page of message ids newest first (keyset pagination by the
  inbox's sequence number), the fast path of the inbox page;
- `count(cap)`: how many match, counting at most `cap` + 1.

On SQLite the fast path walks the FTS5 index newest first (its rowid is the
message id, and within an inbox ids grow with sequence numbers: both are taken
in one transaction under the inbox's write lock) and stops after a page, so a
word found in half the inbox costs no more than a rare one. On PostgreSQL the
planner chooses between the GIN index (rare words) and the (inbox, seq) index
filtered by the tsvector (common words).
"""

from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

from django.db import OperationalError, connection, transaction
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from ..models import Inbox, Message
from . import index, indexer
from .document import HAS_ATTACHMENT
from .query import Condition, Query, Text

COUNT_CAP = 10_000
COUNT_BUDGET_MS = 60  # per attempt, on PostgreSQL (see Search.bounded_count)
WINDOW = 2000  # PostgreSQL: messages next to a page's edge read through (inbox, seq) first (Search._postgres_ids)

# Query field -> (FTS5 column, PostgreSQL weight)
FIELDS = {"subject": ("subject", "A"), "from": ("sender", "B"), "to": ("recipients", "C"), "body": ("body", "D")}
ALL_TEXT_COLUMNS = "{subject sender recipients body}"
OPS = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}


# --- SQLite: an FTS5 MATCH expression -----------------------------------------


def _fts_text(text: Text) -> str:
    # Words are letters and digits only (query.words_of): safe inside FTS5's double quotes.
    phrase = '"' + " ".join(text.words) + '"' + (" *" if text.prefix else "")
    column = FIELDS[text.field][0] if text.field else None
    return f"{{{column}}} : {phrase}" if column else f"{ALL_TEXT_COLUMNS} : {phrase}"


def fts_match(inbox_id: int, texts: list[Text]) -> str:
    """The FTS5 expression for an inbox's messages that match all `texts`."""
    positive = [f'{{inbox}} : "i{int(inbox_id)}"'] + [_fts_text(t) for t in texts if not t.negated]
    expression = "(" + " AND ".join(positive) + ")"
    for text in texts:
        if text.negated:
            expression += f" NOT ({_fts_text(text)})"
    return expression


# --- PostgreSQL: a tsquery ------------------------------------------------------


def _ts_text(text: Text) -> str:
    if text.shown and text.field in ("from", "to"):  # a whole address: its field's word (document.flags)
        lexeme = f"'{text.field}:{text.words[0]}'"
        return f"!{lexeme}" if text.negated else lexeme
    weight = FIELDS[text.field][1] if text.field else ""
    lexemes = []
    for position, word in enumerate(text.words):
        star = "*" if text.prefix and position == len(text.words) - 1 else ""
        label = f":{star}{weight}" if (star or weight) else ""
        lexemes.append(f"'{word}'{label}")
    joined = " <-> ".join(lexemes)
    joined = f"({joined})" if len(lexemes) > 1 else joined
    return f"!{joined}" if text.negated else joined


def tsquery(texts: list[Text], conditions: Sequence[Condition] = ()) -> str:
    """The texts, and has:attachment as its word (document.flags) so that the GIN index answers it too."""
    terms = [_ts_text(text) for text in texts]
    if any(c.kind == "has_attachment" and not c.negated for c in conditions):
        terms.append(f"'{HAS_ATTACHMENT}'")
    return " & ".join(terms)


# --- conditions on stored facts ------------------------------------------------


def _condition(condition: Condition) -> Q:
    kind, value = condition.kind, condition.value
    if kind == "has_attachment":
        q = Q(has_attachments=True)
    elif kind == "is_read":
        q = Q(is_read=value)
    elif kind == "received":
        q = Q(**{f"received_at__{OPS[condition.op]}": value})
    elif kind == "size":
        q = Q(**{f"size__{OPS[condition.op]}": value})
    elif kind == "verdict":
        q = Q(deliverability_verdict=value)
    elif kind == "message_id":
        q = Q(message_id=value) | Q(message_id=f"<{value}>")
    elif kind in ("seq", "pk"):
        q = Q(**{f"{kind}__{OPS[condition.op]}": value})
    else:
        raise ValueError(f"unknown condition {kind}")
    return ~q if condition.negated else q


def conditions_q(conditions: list[Condition]) -> Q:
    q = Q()
    for condition in conditions:
        q &= _condition(condition)
    return q


class Search:
    """A query on one inbox's messages."""

    def __init__(self, inbox_id: int, query: Query, *, using=None):
        self.inbox_id = inbox_id
        self.query = query
        self.connection = using or connection
        self.vendor = self.connection.vendor
        self.common = False  # PostgreSQL: the last page filled up inside its window
        self._pending: list[int] | None = None  # PostgreSQL: matching messages not indexed yet (indexer)

    @property
    def uses_index(self) -> bool:
        return bool(self.query.texts)

    def _text_filter(self) -> RawSQL | None:
        if not self.query.texts:
            return None
        if self.vendor == "sqlite":
            sql = (
                f'"{index.MESSAGE_TABLE}"."id" IN (SELECT rowid FROM {index.FTS_TABLE} '
                f"WHERE {index.FTS_TABLE} MATCH %s)"
            )
            return RawSQL(sql, [fts_match(self.inbox_id, self.query.texts)], output_field=BooleanField())
        # Cast, not to_tsquery: the words are the index's already, and 'from:...' must stay one word.
        words = tsquery(self.query.texts, self.query.conditions)
        sql = f'"{index.MESSAGE_TABLE}"."{index.PG_COLUMN}" @@ %s::tsquery'
        if self._pending is None:
            # Messages whose words the indexer has not written yet, matched on their rows (once per Search).
            self._pending = indexer.pending_matches(self.inbox_id, words, using=self.connection)
        if self._pending:
            sql = f'({sql} OR "{index.MESSAGE_TABLE}"."id" = ANY(%s))'
            return RawSQL(sql, [words, self._pending], output_field=BooleanField())
        return RawSQL(sql, [words], output_field=BooleanField())

    def queryset(self, base=None):
        """The matching messages of the inbox, as a queryset (unordered)."""
        messages = (base if base is not None else Message.objects.all()).filter(inbox_id=self.inbox_id)
        text = self._text_filter()
        if text is not None:
            messages = messages.filter(text)
        if self.query.conditions:
            messages = messages.filter(conditions_q(self.query.conditions))
        return messages

    # --- the fast path of the page -----------------------------------------

    def _sqlite_ids(self, *, newest_first: bool, id_bound: tuple[str, int] | None, limit: int | None) -> list[int]:
        """Ids walking the FTS5 index in rowid order, joined to the messages for the conditions."""
        where = [f"{index.FTS_TABLE} MATCH %s"]
        params: list[Any] = [fts_match(self.inbox_id, self.query.texts)]
        if id_bound is not None:
            where.append(f"{index.FTS_TABLE}.rowid {id_bound[0]} %s")
            params.append(id_bound[1])
        join = ""
        if self.query.conditions:
            # The conditions on the message row, read by primary key for each candidate the index yields.
            conditions = Message.objects.filter(conditions_q(self.query.conditions)).query
            sql, condition_params = conditions.get_compiler(connection=self.connection).compile(conditions.where)
            join = f' JOIN "{index.MESSAGE_TABLE}" ON "{index.MESSAGE_TABLE}"."id" = {index.FTS_TABLE}.rowid'
            where.append(sql)
            params.extend(condition_params)
        order = "DESC" if newest_first else "ASC"
        statement = (
            f"SELECT {index.FTS_TABLE}.rowid FROM {index.FTS_TABLE}{join} WHERE {' AND '.join(where)} "
            f"ORDER BY {index.FTS_TABLE}.rowid {order}"
        )
        if limit is not None:
            statement += " LIMIT %s"
            params.append(limit)
        with self.connection.cursor() as cursor:
            cursor.execute(statement, params)
            return [row[0] for row in cursor.fetchall()]

    def _id_bound(self, before_seq: int | None, after_seq: int | None) -> tuple[str, int] | None:
        """The seq bound of a page as a bound on ids (ids grow with seq within an inbox)."""
        inbox_messages = Message.objects.filter(inbox_id=self.inbox_id)
        if before_seq is not None:
            last = inbox_messages.filter(seq__lt=before_seq).order_by("-seq").values_list("id", flat=True).first()
            return ("<=", last) if last is not None else ("<", 0)
        if after_seq is not None:
            first = inbox_messages.filter(seq__gt=after_seq).order_by("seq").values_list("id", flat=True).first()
            return (">=", first) if first is not None else (">", 2**62)
        return None

    def page(self, *, before_seq: int | None = None, after_seq: int | None = None, limit: int = 50) -> list[int]:
        """Ids of up to `limit` matches: newest first below `before_seq` (or from the top),
        or, with `after_seq`, the oldest ones above it (oldest first)."""
        newest_first = after_seq is None
        if self.vendor == "sqlite" and self.uses_index:
            return self._sqlite_ids(
                newest_first=newest_first, id_bound=self._id_bound(before_seq, after_seq), limit=limit
            )
        if self.vendor == "postgresql" and self.uses_index:
            return self._postgres_ids(before_seq=before_seq, after_seq=after_seq, limit=limit)
        return self._ordered_ids(self.queryset(), before_seq, after_seq, limit)

    @staticmethod
    def _ordered_ids(messages, before_seq, after_seq, limit) -> list[int]:
        if before_seq is not None:
            messages = messages.filter(seq__lt=before_seq)
        if after_seq is not None:
            messages = messages.filter(seq__gt=after_seq)
        order = "seq" if after_seq is not None else "-seq"
        return list(messages.order_by(order).values_list("id", flat=True)[:limit])

    @contextmanager
    def _planner(self, **settings: str):
        """PostgreSQL settings for the statements inside, put back after (SET LOCAL outlives a savepoint)."""
        with transaction.atomic(using=self.connection.alias), self.connection.cursor() as cursor:
            previous = {}
            for name, value in settings.items():
                cursor.execute("SELECT current_setting(%s)", [name])
                previous[name] = cursor.fetchone()[0]
                cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
            yield
            for name, value in previous.items():
                cursor.execute("SELECT set_config(%s, %s, true)", [name, value])

    def _postgres_ids(self, *, before_seq: int | None, after_seq: int | None, limit: int) -> list[int]:
        """A page in two steps, each with the plan that suits it, since the planner cannot tell a rare
        word from a common one well enough (walking the (inbox, seq) index for a rare word reads the
        whole inbox; the GIN index for a common word reads half of it):

        1. the WINDOW messages next to the page's edge, walking (inbox, seq) with the tsvector as a
           filter: enough for any word in more than limit/WINDOW of the messages;
        2. if the page is not full, the rest from the GIN index (bitmap), which holds few matches
           beyond the window when step 1 found few inside it.
        """
        newest_first = after_seq is None
        near: dict[str, int | None]
        far: dict[str, int | None]
        if newest_first:
            edge = before_seq if before_seq is not None else self._last_seq() + 1
            # From the top, the window has no upper end: rows written beyond last_seq are in it too.
            near = dict(before_seq=before_seq, after_seq=edge - WINDOW - 1)
            far = dict(before_seq=edge - WINDOW, after_seq=None)
        else:
            assert after_seq is not None
            near = dict(before_seq=after_seq + WINDOW + 1, after_seq=after_seq)
            far = dict(before_seq=None, after_seq=after_seq + WINDOW)
        order = "-seq" if newest_first else "seq"
        with self._planner(enable_bitmapscan="off", enable_seqscan="off"):
            messages = self.queryset().filter(seq__gt=near["after_seq"])
            if near["before_seq"] is not None:
                messages = messages.filter(seq__lt=near["before_seq"])
            ids = list(messages.order_by(order).values_list("id", flat=True)[:limit])
        self.common = len(ids) >= limit
        if len(ids) < limit:
            with self._planner(enable_indexscan="off", enable_seqscan="off"):
                messages = self.queryset()
                if far["before_seq"] is not None:
                    messages = messages.filter(seq__lt=far["before_seq"])
                if far["after_seq"] is not None:
                    messages = messages.filter(seq__gt=far["after_seq"])
                ids += list(messages.order_by(order).values_list("id", flat=True)[: limit - len(ids)])
        return ids

    def _last_seq(self) -> int:
        return Inbox.objects.filter(pk=self.inbox_id).values_list("last_seq", flat=True).first() or 0

    def count(self, cap: int = COUNT_CAP) -> tuple[int, bool]:
        """(number of matches, whether there are more than `cap`), counting at most cap + 1."""
        if self.vendor == "sqlite" and self.uses_index:
            found = len(self._sqlite_ids(newest_first=True, id_bound=None, limit=cap + 1))
        else:
            found = self.queryset().values("id")[: cap + 1].count()
        return min(found, cap), found > cap

    def bounded_count(self, caps: tuple[int, ...] = (COUNT_CAP, COUNT_CAP // 10), budget_ms: int = COUNT_BUDGET_MS):
        """(count, more): counted up to the first cap that can be counted within `budget_ms`, or None.

        PostgreSQL only bounds the time (`statement_timeout`): a phrase made of
        common words is checked against each candidate's positions, and
        counting ten thousand of them can take longer than the page may. Then
        the next, smaller cap is tried, and the page says "1,000+" rather than
        wait. SQLite's count walks the FTS5 index and needs no bound.
        """
        if self.vendor != "postgresql":
            return self.count(caps[0])
        if self.common and len(caps) > 1 and any(len(t.words) > 1 for t in self.query.texts if not t.negated):
            # A phrase that filled the page's window is in thousands of messages, each of which its
            # positions must be checked in: ten thousand of them do not fit the budget (60 ms spent
            # to learn it, at a million messages), so the count starts at the next cap.
            caps = caps[1:]
        # A rare word is counted from the GIN index (walking (inbox, seq) would read the inbox); a
        # common one, which filled the page's window (`page` learnt it), by walking (inbox, seq).
        hints = {}
        if self.uses_index:
            hints = {"enable_seqscan": "off"}
            hints["enable_bitmapscan" if self.common else "enable_indexscan"] = "off"
        for cap in caps:
            try:
                with self._planner(statement_timeout=f"{int(budget_ms)}ms", **hints):
                    return self.count(cap)
            except OperationalError:  # the statement timeout: try a smaller cap
                continue
        return None

    def ids(self, limit: int | None = None) -> list[int]:
        """Every matching id, newest first (for bulk actions on a whole result)."""
        if self.vendor == "sqlite" and self.uses_index:
            return self._sqlite_ids(newest_first=True, id_bound=None, limit=limit)
        ids = self.queryset().order_by("-seq").values_list("id", flat=True)
        return list(ids[:limit] if limit is not None else ids)

    def matching(self, ids: list[int]) -> list[int]:
        """Which of `ids` match (the live-insertion check)."""
        return list(self.queryset().filter(pk__in=ids).values_list("id", flat=True))
