"""Log formatters: one line per record, as key=value text or as JSON (`LOG_FORMAT`).

Events that carry structured fields log them with `log_event()`; both formatters
render those fields, so a session line reads the same in a terminal and in a
log pipeline. Nothing a client sends can forge or split a line:

- key=value: field values are quoted (JSON string syntax, ASCII only) unless
  made of harmless characters; control characters, line and paragraph
  separators and unpaired surrogates in the message itself are escaped; a
  traceback follows its record with every line indented, so only a record's
  first line ever starts at the margin.
- JSON: one object per line; `json.dumps` escapes everything that could break it.
"""

import datetime
import json
import logging
import re

_PLAIN = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:@,/+[]<>")
# C0 and C1 controls, DEL, and what str.splitlines() or a terminal also takes as a line end.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
TRACEBACK_INDENT = "    "


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, exc_info=None, **fields) -> None:
    """Log `event` with `fields` (never message content or passwords: callers choose the fields)."""
    logger.log(level, event, exc_info=exc_info, extra={"event": event, "fields": fields})


def _escape_char(match: re.Match) -> str:
    char = match.group()
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """`text` with every control or line-breaking character written as an escape."""
    return _UNSAFE.sub(_escape_char, text)


def _kv_value(value) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, (list, tuple)):
        value = ",".join(map(str, value)) or "-"
    text = str(value)
    if all(char in _PLAIN for char in text):
        return text
    return json.dumps(text)


def _timestamp(record) -> str:
    return datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc).isoformat(timespec="milliseconds")


class KeyValueFormatter(logging.Formatter):
    """`<time> <LEVEL> <logger> <message> key=value ...`, then an exception's traceback, indented."""

    def format(self, record):
        line = f"{_timestamp(record)} {record.levelname} {record.name} {escape(record.getMessage())}"
        fields = getattr(record, "fields", None)
        if fields:
            line += " " + " ".join(f"{key}={_kv_value(value)}" for key, value in fields.items())
        if record.exc_info:
            # An exception's text may carry client data, line breaks included: each
            # of its lines is indented, so none can pass for a record of its own.
            traceback = self.formatException(record.exc_info)
            line += "".join(f"\n{TRACEBACK_INDENT}{escape(part)}" for part in traceback.split("\n"))
        return line


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the event's fields, exception."""

    def format(self, record):
        data = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        event = getattr(record, "event", None)
        if event:
            data["event"] = event
        for key, value in (getattr(record, "fields", None) or {}).items():
            data.setdefault(key, value)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)
