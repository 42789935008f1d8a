"""Say whether the PostgreSQL and Redis servers the tests use answer (scripts/test, .ci/run).

PostgreSQL is the server of DATABASE_URL when that names one, else postgres@127.0.0.1:5432 (where
the process tests create their databases on the embedded default); Redis is REDIS_URL, else
127.0.0.1:6379. Prints one line per service, "name: ok (where)" or "name: unreachable (where):
reason", and exits 1 if either does not answer. Run with the project's virtualenv.
"""

import os
import sys
from urllib.parse import urlsplit

import dj_database_url
import psycopg
import redis

TIMEOUT_SECONDS = 5
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def postgres_status() -> tuple[str, str | None]:
    """Connect to the server's `postgres` database: the test database may not exist yet."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = DEFAULT_POSTGRES
    config = dj_database_url.parse(url)
    where = f"{config['HOST'] or 'local socket'}:{config['PORT'] or 5432}"
    try:
        with psycopg.connect(
            host=config["HOST"] or None,
            port=config["PORT"] or None,
            user=config["USER"] or None,
            password=config["PASSWORD"] or None,
            dbname="postgres",
            connect_timeout=TIMEOUT_SECONDS,
        ) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        return where, str(error).strip().splitlines()[0]
    return where, None


def redis_status() -> tuple[str, str | None]:
    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS)
    parsed = urlsplit(url)
    where = f"{parsed.hostname or 'local socket'}:{parsed.port or 6379}"
    try:
        client.ping()
    except redis.RedisError as error:
        return where, str(error)
    finally:
        client.close()
    return where, None


def main() -> int:
    missing = 0
    for name, status in (("postgres", postgres_status), ("redis", redis_status)):
        where, problem = status()
        if problem is None:
            sys.stdout.write(f"{name}: ok ({where})\n")
        else:
            sys.stdout.write(f"{name}: unreachable ({where}): {problem}\n")
            missing += 1
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
