"""Log formatters: one line per record, as key=value text or as JSON (`LOG_FORMAT`).

Events that carry structured fields log them with `log_event()`; both formatters
render those fields, so a session line reads the same in a terminal and in a
log pipeline. Values are quoted when they could break the line apart (client
supplied strings such as a HELO name), so nobody can forge log lines.
"""

import datetime
import json
import logging

_PLAIN = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:@,/+[]<>")


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields) -> None:
    """Log `event` with `fields` (never message content or passwords: callers choose the fields)."""
    logger.log(level, event, extra={"event": event, "fields": fields})


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
    """`<time> <LEVEL> <logger> <message> key=value ...`, with an exception's traceback after."""

    def format(self, record):
        line = f"{_timestamp(record)} {record.levelname} {record.name} {record.getMessage()}"
        fields = getattr(record, "fields", None)
        if fields:
            line += " " + " ".join(f"{key}={_kv_value(value)}" for key, value in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
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
