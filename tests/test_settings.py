"""Production settings: fail closed without a secret, secure by default, configurable, checked."""

import json

import pytest
from django.core.checks import Error

from smtpd import checks

from .processes import REPO, production_env

SHOW_SETTINGS = (
    "python manage.py shell -c 'import json; from django.conf import settings as s; print(json.dumps({"
    '"proxy": s.SECURE_PROXY_SSL_HEADER, "redirect": s.SECURE_SSL_REDIRECT, '
    '"session_secure": s.SESSION_COOKIE_SECURE, "csrf_secure": s.CSRF_COOKIE_SECURE, '
    '"hsts": s.SECURE_HSTS_SECONDS, "subdomains": s.SECURE_HSTS_INCLUDE_SUBDOMAINS, '
    '"forwarded_host": s.USE_X_FORWARDED_HOST, "formatter": s.LOGGING["handlers"]["console"]["formatter"]}))\''
)


def documented_env(tmp_path, test_ca):
    """deploy/maildog.env.example as an operator fills it in: real secret, real certificate files."""
    env = {}
    for line in (REPO / "deploy" / "maildog.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    cert = test_ca.issue_cert("smtp.maildog.example.com")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "fullchain.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "privkey.pem"))
    env.update(
        MAILDOG_TLS_CERT=tmp_path / "fullchain.pem",
        MAILDOG_TLS_KEY=tmp_path / "privkey.pem",
        MAILDOG_DATA_DIR=tmp_path / "data",
        STATIC_ROOT=tmp_path / "static",
    )
    return production_env(**env)


def shown_settings(maildog_processes, **env):
    result = maildog_processes.run(SHOW_SETTINGS, production_env(**env))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_passes_with_the_documented_environment(maildog_processes, tmp_path, test_ca):
    env = documented_env(tmp_path, test_ca)
    result = maildog_processes.run("python manage.py check --deploy --fail-level WARNING", env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_when_https_protections_are_turned_off(maildog_processes, tmp_path, test_ca):
    env = documented_env(tmp_path, test_ca)
    env.update(SECURE_SSL_REDIRECT="0", SESSION_COOKIE_SECURE="0", SECURE_HSTS_SECONDS="0")
    result = maildog_processes.run("python manage.py check --deploy --fail-level WARNING", env)
    assert result.returncode != 0
    for check_id in ("security.W004", "security.W008", "security.W012"):
        assert check_id in result.stderr


def test_missing_secret_key_with_debug_off_stops_start_up(maildog_processes, tmp_path):
    env = production_env(MAILDOG_DATA_DIR=tmp_path)
    del env["SECRET_KEY"]
    result = maildog_processes.run("python manage.py check", env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_secure_by_default_and_proxy_headers_configurable(maildog_processes, tmp_path):
    defaults = shown_settings(maildog_processes, MAILDOG_DATA_DIR=tmp_path)
    assert defaults == {
        "proxy": None,
        "redirect": True,
        "session_secure": True,
        "csrf_secure": True,
        "hsts": 31536000,
        "subdomains": True,
        "forwarded_host": False,
        "formatter": "text",
    }
    configured = shown_settings(
        maildog_processes,
        MAILDOG_DATA_DIR=tmp_path,
        MAILDOG_BEHIND_PROXY="1",
        USE_X_FORWARDED_HOST="1",
        SECURE_HSTS_SECONDS="3600",
        SECURE_SSL_REDIRECT="0",
        LOG_FORMAT="json",
    )
    assert configured["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert configured["forwarded_host"] is True
    assert configured["hsts"] == 3600
    assert configured["redirect"] is False
    assert configured["formatter"] == "json"


def test_unknown_log_format_stops_start_up(maildog_processes, tmp_path):
    env = production_env(MAILDOG_DATA_DIR=tmp_path, LOG_FORMAT="xml")
    result = maildog_processes.run("python manage.py check", env)
    assert result.returncode != 0
    assert "LOG_FORMAT must be 'text' or 'json'" in result.stderr


# --- Maildog's own system checks (in process) --------------------------------
def ids(messages):
    return [message.id for message in messages]


@pytest.fixture
def cert_files(test_ca, tmp_path):
    cert = test_ca.issue_cert("smtp.example.com")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    return tmp_path / "cert.pem", tmp_path / "key.pem"


def test_tls_files_unset_use_the_local_ca(settings):
    settings.MAILDOG_TLS_CERT = settings.MAILDOG_TLS_KEY = ""
    assert checks.check_tls_files(None) == []


def test_tls_files_readable_pair_passes(settings, cert_files):
    settings.MAILDOG_TLS_CERT, settings.MAILDOG_TLS_KEY = map(str, cert_files)
    assert checks.check_tls_files(None) == []


def test_tls_cert_without_key_is_an_error(settings, cert_files):
    settings.MAILDOG_TLS_CERT, settings.MAILDOG_TLS_KEY = str(cert_files[0]), ""
    assert ids(checks.check_tls_files(None)) == ["maildog.E001"]


def test_unreadable_tls_file_is_an_error(settings, cert_files, tmp_path):
    settings.MAILDOG_TLS_CERT, settings.MAILDOG_TLS_KEY = str(cert_files[0]), str(tmp_path / "missing.pem")
    [error] = checks.check_tls_files(None)
    assert isinstance(error, Error) and error.id == "maildog.E002" and "missing.pem" in error.msg


def test_key_not_matching_the_certificate_is_an_error(settings, cert_files, test_ca, tmp_path):
    test_ca.issue_cert("other.example.com").private_key_pem.write_to_path(str(tmp_path / "other-key.pem"))
    settings.MAILDOG_TLS_CERT, settings.MAILDOG_TLS_KEY = str(cert_files[0]), str(tmp_path / "other-key.pem")
    assert ids(checks.check_tls_files(None)) == ["maildog.E003"]


def test_database_server_without_redis_warns(maildog_processes, tmp_path):
    env = production_env(MAILDOG_DATA_DIR=tmp_path, DATABASE_URL="postgres://maildog@db.internal:5432/maildog")
    result = maildog_processes.run("python manage.py check", env)
    assert result.returncode == 0
    assert "maildog.W001" in result.stderr and "REDIS_URL is not set" in result.stderr
    result = maildog_processes.run("python manage.py check", dict(env, REDIS_URL="redis://redis.internal:6379/0"))
    assert result.returncode == 0 and "maildog.W001" not in result.stderr + result.stdout
    # The embedded default (SQLite, one process) needs no Redis.
    del env["DATABASE_URL"]
    result = maildog_processes.run("python manage.py check", env)
    assert result.returncode == 0 and "maildog.W001" not in result.stderr + result.stdout


def test_negative_maximum_age_is_an_error(settings):
    settings.MAILDOG_MAX_MESSAGE_AGE_DAYS = -1
    assert ids(checks.check_retention(None)) == ["maildog.E004"]
    settings.MAILDOG_MAX_MESSAGE_AGE_DAYS = 30
    assert checks.check_retention(None) == []
