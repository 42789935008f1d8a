"""`highlight`: the words a search matched, marked in a list cell; `message_rows`: the list's rows."""

import html

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeData, mark_safe

from ..search.query import WORD_RE

register = template.Library()


@register.filter(needs_autoescape=True)
def highlight(value, words, autoescape=True):
    """`value` escaped, with each word that a search term matches wrapped in <mark>.

    `words` is `Query.highlight_words`: (word, is_prefix) pairs, compared with
    the text's words as the index splits them (letters and digits, lower-cased).
    Escaping comes first, piece by piece; nothing of `value` is ever marked safe unescaped.
    """
    text = html.unescape(str(value)) if isinstance(value, SafeData) else str(value)
    if not words:
        return mark_safe(escape(text))
    exact = {word for word, prefix in words if not prefix}
    prefixes = tuple(word for word, prefix in words if prefix)
    pieces, position = [], 0
    for match in WORD_RE.finditer(text):
        word = match.group().lower()
        if word in exact or (prefixes and word.startswith(prefixes)):
            pieces.append(escape(text[position : match.start()]))
            pieces.append(f"<mark>{escape(match.group())}</mark>")
            position = match.end()
    pieces.append(escape(text[position:]))
    return mark_safe("".join(pieces))


@register.simple_tag
def message_rows(messages, search_words):
    """The inbox list's rows (inboxes.rows)."""
    from ..rows import rows  # here, not at the top: rows uses this module's highlight

    return rows(messages, search_words)
