"""How a webhook request is signed, and how a receiver checks it (docs/webhooks.md shows the same in Python).

`Maildog-Signature: sha256=<hex>` is HMAC-SHA256, keyed with the webhook's
secret, over `<Maildog-Timestamp>.<body>` (the timestamp in Unix seconds, a
dot, then the raw body bytes). Receivers should compare in constant time and
reject timestamps older than a few minutes (replays).
"""

import hashlib
import hmac


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    try:
        expected = signature(secret, int(timestamp), body)
    except ValueError:
        return False
    return hmac.compare_digest(expected, header)
