"""The Redis channel layer's configuration (used by settings when REDIS_URL is set).

A pooled Redis connection outlives a Redis restart on the client side: the
next command sent on it fails ("Connection closed by server"), which made the
first websocket handshake after an outage fail. Each command is therefore
retried once, on a fresh connection, after a connection error; while Redis is
really down the retry fails too and the caller handles the outage.
"""

from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

LAYER_CAPACITY = 5000


def redis_channel_layer(url: str, prefix: str) -> dict:
    """A CHANNEL_LAYERS entry for channels_redis at `url`, group names under `prefix`."""
    return {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # No socket read timeout: the layer blocks in BZPOPMIN between
            # messages, and redis-py 8's default timeout would break every
            # idle websocket after a few seconds.
            "hosts": [{"address": url, "socket_timeout": None, "retry": Retry(NoBackoff(), 1)}],
            "prefix": prefix,
            # Messages waiting per channel before new ones are dropped. The channels of one
            # web process share one queue in Redis, every open page has two websockets, and
            # channels_redis's default of 100 was reached by a few pages at 100 messages/s.
            "capacity": LAYER_CAPACITY,
        },
    }
