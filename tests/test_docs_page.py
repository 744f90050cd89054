"""`/docs` works offline, under the page policy, in real Chromium; `/favicon.ico` exists."""

# Fixtures are imported from other test modules; tests then take them as arguments.
# ruff: noqa: F811

from __future__ import annotations

import urllib.request

from playwright.sync_api import Browser, ConsoleMessage, expect
from test_browser import browser  # noqa: F401  (a fixture)
from test_hostile_input import base_url, hostile_settings  # noqa: F401  (fixtures)


def test_the_api_docs_render_from_this_server_alone(browser: Browser, base_url: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    requested: list[str] = []
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("request", lambda request: requested.append(request.url))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    page.on("console", console)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(base_url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Archive assistant")
    expect(page.locator(".opblock-summary-path", has_text="/api/ask").first).to_be_visible()
    context.close()
    assert problems == []
    assert requested and all(url.startswith(base_url) for url in requested), requested


def test_the_favicon_is_an_icon(base_url: str) -> None:
    with urllib.request.urlopen(base_url + "/favicon.ico", timeout=10) as response:
        assert response.headers["content-type"] == "image/x-icon"
        icon = response.read()
    assert icon[:4] == b"\x00\x00\x01\x00" and b"PNG" in icon[:40]


def test_pages_point_at_the_favicon(base_url: str) -> None:
    for path in ("/", "/episodes/x", "/docs"):
        with urllib.request.urlopen(base_url + path, timeout=10) as response:
            assert b'rel="icon" href="/favicon.ico"' in response.read()
