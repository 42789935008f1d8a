"""Test settings: the product's own settings, with DEBUG off, as in production.

Only what the environment must provide is filled in here; DATABASE_URL and
REDIS_URL still choose SQLite or PostgreSQL and in-memory or Redis.
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-for-production")
os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
# The test servers speak plain HTTP, as a development server does; production
# terminates TLS in front of Maildog and keeps these at their secure defaults.
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")
os.environ.setdefault("MAILDOG_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "data", "tests"))
os.environ.setdefault("STATIC_ROOT", os.path.join(os.environ["MAILDOG_DATA_DIR"], "static"))
# WhiteNoise warns on every request when STATIC_ROOT is missing; tests serve from the apps.
os.makedirs(os.environ["STATIC_ROOT"], exist_ok=True)

from maildog_site.settings import *  # noqa: E402,F403

# Hashing passwords fast keeps the suite quick; nothing else differs.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Static files straight from the apps (no collectstatic step before tests);
# the compressed, hashed production storage is covered by the deploy tests.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
