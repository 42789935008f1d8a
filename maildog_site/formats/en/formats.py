"""Maildog's one way of writing dates and times (FORMAT_MODULE_PATH): ISO dates, a 24-hour clock with seconds.

A sandbox is read by developers matching mail to logs and test runs: "2026-11-25 20:05:03" sorts,
compares with log lines, and reads the same everywhere. Django uses these for every date and time a
template prints without a format (`{{ message.received_at }}`) and in the admin; templates that need
one explicitly use the filters of `accounts/templatetags/maildog_time.py`, which name these formats.
"""

DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
DATETIME_FORMAT = "Y-m-d H:i:s"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
