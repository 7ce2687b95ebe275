"""Production settings, response headers, the 503 page and the health check."""

import os
import secrets
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.db.models.sql.compiler import SQLCompiler
from django.test import Client
from django.utils import translation

from branches.models import Member
from tests.factories import MemberFactory

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def english(settings):
    """Messages are asserted in English (the default language is Vietnamese), in every thread."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def production_env(**extra):
    dropped = {"DEBUG", "DJANGO_TESTING", "HTTPS", "DJANGO_ALLOW_ASYNC_UNSAFE", "ZEAL_ENABLED", "OTP_REQUIRED"}
    env = {key: value for key, value in os.environ.items() if key not in dropped and not key.startswith("PYTEST")}
    env.update(
        DEBUG="0",
        DJANGO_TESTING="0",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="example.org",
        CSRF_TRUSTED_ORIGINS="https://example.org",
        REDIS_URL="redis://127.0.0.1:6379/13",  # settings only: the checks below connect to no cache
    )
    env.update(extra)
    return {key: value for key, value in env.items() if value is not None}


def test_check_deploy_is_clean_with_production_environment():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_the_cache_is_private_to_each_process():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=production_env(REDIS_URL=None),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "reports.W001" in result.stdout + result.stderr


def test_production_settings_turn_on_https_cookies_and_hsts():
    code = (
        "from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0, "
        "s.SECURE_HSTS_PRELOAD, s.X_FRAME_OPTIONS, s.CSRF_TRUSTED_ORIGINS, s.OTP_REQUIRED_ROLES)"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", code],
        cwd=BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "True True True True True DENY ['https://example.org'] ('administrator', 'department')"
    )


def test_plain_http_is_redirected_to_https_in_production(settings, db):
    settings.SECURE_SSL_REDIRECT = True
    response = Client().get("/accounts/login/")
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_https_behind_nginx_gets_hsts(settings, db):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    response = Client().get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_html_pages_carry_a_strict_content_security_policy(client, db):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in directives["script-src"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_login_page_has_no_inline_script(client, db):
    html = client.get("/accounts/login/").content.decode()
    for chunk in html.split("<script")[1:]:
        opening = chunk.split(">", 1)[0]
        assert "src=" in opening, f"inline script: <script{chunk[:80]}"


def test_pages_for_signed_in_users_are_not_stored(client, secretary_a):
    client.force_login(secretary_a)
    response = client.get("/")
    assert response["Cache-Control"] == "no-store"


def test_session_expires_after_thirty_minutes_of_inactivity(settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_REFRESH_SECONDS == 60  # ends 29 to 30 minutes after the last request
    assert "security.sessions.SessionRefreshMiddleware" in settings.MIDDLEWARE
    assert settings.SESSION_COOKIE_HTTPONLY is True


def test_a_request_pushes_the_session_expiry_back_at_most_once_a_minute(client, secretary_a, settings):
    import datetime
    import time

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from security.sessions import REFRESHED_KEY

    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    client.force_login(secretary_a)
    key = client.session.session_key

    def expiry():
        return Session.objects.get(session_key=key).expire_date

    def refreshed_seconds_ago(seconds):
        session = client.session
        session[REFRESHED_KEY] = int(time.time()) - seconds
        session.save()
        Session.objects.filter(session_key=key).update(expire_date=timezone.now() + datetime.timedelta(minutes=5))
        return expiry()

    before = refreshed_seconds_ago(61)
    assert client.get("/members/").status_code == 200
    assert expiry() - before > datetime.timedelta(minutes=24)  # pushed back to thirty minutes from now
    assert client.session[REFRESHED_KEY] >= int(time.time()) - 5

    before = refreshed_seconds_ago(10)
    assert client.get("/members/").status_code == 200
    assert expiry() == before  # a refresh ten seconds ago: no write

    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    response = client.get("/members/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]  # idle too long


def test_an_anonymous_visit_or_a_session_the_store_lost_writes_no_session(client, db, settings):
    from django.contrib.sessions.models import Session

    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    assert client.get("/accounts/login/").status_code == 200
    client.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32
    assert client.get("/accounts/login/").status_code == 200
    assert not Session.objects.exclude(session_data__contains="csrf").exists()


def test_strong_password_validation_is_configured(settings):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    for weak in ("short1", "1234567890123", "password1234"):
        with pytest.raises(ValidationError):
            validate_password(weak)
    validate_password("Ngọn-đèn-xanh-2024-bền")


# Faults -----------------------------------------------------------------------------------


@contextmanager
def database_down():
    """Every query fails as if the database server were gone (undone before the test's teardown)."""

    def refuse(*args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CursorWrapper, "execute", refuse)
        patch.setattr(CursorWrapper, "executemany", refuse)
        yield


def test_database_outage_in_a_view_is_a_503_page(client, secretary_a, monkeypatch):
    member = MemberFactory(organization=secretary_a.role_assignments.get().organization, is_business_owner=False)
    client.force_login(secretary_a)
    client.raise_request_exception = False
    original = SQLCompiler.execute_sql

    def members_unreachable(self, *args, **kwargs):
        # Sessions and users still load: the failure happens inside the view.
        if self.query.model is Member:
            raise OperationalError("server closed the connection unexpectedly")
        return original(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SQLCompiler, "execute_sql", members_unreachable)
        response = client.get(f"/members/{member.pk}/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert "database is unavailable" in response.content.decode()
    assert response["Retry-After"] == "60"


def test_database_outage_anywhere_is_a_503_page_not_a_traceback(client, secretary_a):
    client.force_login(secretary_a)
    client.raise_request_exception = False
    with database_down():  # the session and the user now fail in middleware, before any view
        response = client.get("/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert b"Traceback" not in response.content


def test_database_outage_under_the_api_is_a_json_503(client, secretary_a):
    client.force_login(secretary_a)
    client.raise_request_exception = False
    with database_down():
        response = client.get("/api/v1/members/")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "database_unavailable"


def test_health_reports_database_and_cache(client, db):
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["cache"]["status"] == "ok"
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


def test_health_is_503_when_the_database_is_down(client, db):
    with database_down():
        response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"]["status"] == "unavailable"
    assert body["cache"]["status"] == "ok"


def test_health_is_503_when_the_cache_is_down(client, db, monkeypatch):
    from django.core.cache import cache

    def refuse(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(cache, "set", refuse)
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["cache"]["status"] == "unavailable"


def test_health_is_not_redirected_to_https(settings, db):
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get("/health/").status_code == 200


def test_check_deploy_warns_when_two_factor_is_off(settings):
    from django.core.checks import run_checks

    settings.OTP_REQUIRED_ROLES = ()
    warnings = [message for message in run_checks(include_deployment_checks=True) if message.id == "security.W001"]
    assert len(warnings) == 1 and "administrator, department" in warnings[0].msg
    settings.OTP_REQUIRED_ROLES = ("administrator", "department")
    assert not [message for message in run_checks(include_deployment_checks=True) if message.id == "security.W001"]
    assert not [message for message in run_checks() if message.id == "security.W001"]  # only with --deploy
