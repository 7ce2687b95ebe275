"""The interactive API docs render in a real browser under the site's Content-Security-Policy."""

import pytest

from tests.api_conftest import API
from tests.e2e.conftest import sign_in


@pytest.mark.e2e
def test_swagger_ui_renders_every_endpoint_without_csp_errors(live_server, tree, department, new_page):
    page = new_page(locale="en-US")
    sign_in(page, live_server, "department")  # the docs are for signed-in users
    response = page.goto(f"{live_server.url}{API}docs/")
    assert response.status == 200
    assert "script-src 'self'" in response.headers.get("content-security-policy", "")
    page.wait_for_selector(".opblock-tag-section", timeout=30_000)
    tags = page.locator(".opblock-tag").all_inner_texts()
    assert any("members" in tag for tag in tags) and any("reports" in tag for tag in tags)
    assert page.errors == []
