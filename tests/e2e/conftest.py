"""Browser fixtures: Playwright's sync API driving Debian's Chromium against pytest-django's live server.

Run alone with ``pytest -m e2e``; screenshots go to ``test-artifacts/`` (ignored by git).
"""

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM must still be allowed here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """On SQLite the browser tests use a database file, as ``make run`` does, not the shared in-memory
    database: Django's live server would share that one connection among its request threads, and a
    picker's request landing beside a form's write could fail its session save with a 400."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("e2e") / "db.sqlite3")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


class PageErrors(list):
    """Console errors, page errors (a blocked inline script under the CSP shows up here) and the
    responses that failed, with their address."""


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so that ``new_page`` knows whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def new_page(browser, request):
    """Open a fresh browser context (its own cookies) with a page that records console errors.

    When the test fails, each page it opened is kept as ``test-artifacts/failed-<test>-<n>.png``
    (what the browser showed at that moment, for a failure seen only in CI)."""
    contexts = []

    def open_page(locale="vi-VN", width=1280, height=900):
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.errors = PageErrors()
        page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on(
            "response",
            lambda response: (
                response.status >= 400
                and page.errors.append(f"{response.status} {response.request.method} {response.url}")
            ),
        )
        return page

    yield open_page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        _keep_failed_pages(request.node.name, contexts)
    for context in contexts:
        context.close()


def _keep_failed_pages(test_name, contexts):
    ARTIFACTS.mkdir(exist_ok=True)
    name = "".join(char if char.isalnum() or char in "-_" else "-" for char in test_name)
    pages = [page for context in contexts for page in context.pages]
    for number, page in enumerate(pages, start=1):
        try:
            page.screenshot(path=str(ARTIFACTS / f"failed-{name}-{number}.png"), full_page=True)
        except Exception as error:  # a page that cannot be drawn any more must not hide the failure
            print(f"failed-{name}-{number}.png not kept: {error}")


@pytest.fixture
def screenshot():
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name):
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def sign_in(page, live_server, username, password="correct-horse-battery"):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("#content form button[type=submit]")


# The walks and the audits run in both languages on a desktop and on a phone (issue 16).
LANGUAGES = ["vi", "en"]
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}


def open_as(new_page, live_server, username, language, viewport):
    """A signed-in page of ``username`` at ``viewport`` in ``language`` (chosen as a user does, from the navbar)."""
    from django.urls import reverse

    width, height = VIEWPORTS[viewport]
    page = new_page(width=width, height=height)
    sign_in(page, live_server, username)
    if language == "en":
        page.goto(f"{live_server.url}{reverse('branches:member_list')}")
        if viewport == "phone":
            page.click(".navbar-toggler")
            page.locator("#main-nav.show:not(.collapsing)").wait_for(state="visible")
        with page.expect_navigation():  # static/js/app.js submits the form on change
            page.select_option("#language-select", "en")
    assert page.get_attribute("html", "lang") == language
    return page


def page_width(page):
    """How wide the page scrolls: on a phone never more than the screen."""
    return page.evaluate("document.scrollingElement.scrollWidth")
