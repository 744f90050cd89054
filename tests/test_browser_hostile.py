"""The pages against hostile archive data, in real Chromium: the Content-Security-Policy is
on and blocks inline script, a `javascript:` source is never a link, and episodes whose
ids need percent-encoding open in the reader."""

# Fixtures are imported from other test modules; tests then take them as arguments.
# ruff: noqa: F811

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from test_browser import browser  # noqa: F401  (a fixture)
from test_hostile_input import (  # noqa: F401  (fixtures)
    ODD_IDS,
    base_url,
    hostile_settings,
)

from assistant.links import reader_path


@pytest.fixture
def tab(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    """A page, and the Content-Security-Policy violations it reports."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    violations: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", console)
    yield page, violations
    context.close()
    assert errors == [], errors


def test_the_policy_blocks_inline_script(base_url: str, tab: tuple[Page, list[str]]) -> None:
    page, violations = tab
    page.goto(base_url + "/")
    expect(page.locator("#f-speaker option").nth(1)).to_be_attached()  # app.js ran
    assert violations == []  # the page itself needs nothing the policy forbids
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.__inline = 1";
            document.body.append(script);
        }"""
    )
    assert page.evaluate("window.__inline") is None
    assert violations and "script-src" in violations[0]


def test_a_script_source_is_never_a_link(base_url: str, tab: tuple[Page, list[str]]) -> None:
    page, violations = tab
    page.goto(base_url + "/episodes/2025-10-01-cables")
    expect(page.locator("#title")).to_have_text("Undersea cables")
    expect(page.locator("#source")).to_be_hidden()
    assert page.locator("#source").get_attribute("href") is None

    page.goto(base_url + "/")
    page.fill("#question", "Who repairs undersea cables?")
    page.click("#send")
    answer = page.locator(".message.assistant").last
    chip = answer.locator(".chip").first
    expect(chip).to_be_visible(timeout=30_000)
    chip.click()
    expect(page.locator("#panel-en")).to_contain_text("undersea cables")
    expect(page.locator("#panel-source")).to_be_hidden()
    assert page.locator("#panel-source").get_attribute("href") is None
    href = page.locator("#panel-reader").get_attribute("href")
    assert href == "/episodes/2025-10-01-cables#p1"
    assert violations == []


@pytest.mark.parametrize("episode_id", ODD_IDS)
def test_an_odd_episode_id_is_followed_from_a_citation_to_the_reader(
    base_url: str, tab: tuple[Page, list[str]], episode_id: str
) -> None:
    page, _ = tab
    n = ODD_IDS.index(episode_id)
    page.goto(base_url + "/")
    page.fill("#question", f"What is in paragraph {n} of the episode with an odd id?")
    page.click("#send")
    chip = page.locator(f'.message.assistant .chip[title^="Odd id {n} ·"]').first
    expect(chip).to_be_visible(timeout=30_000)
    chip.click()
    expect(page.locator("#panel-reader")).to_have_attribute("href", reader_path(episode_id, 1))
    page.click("#panel-reader")
    expect(page.locator("#title")).to_have_text(f"Odd id {n}")
    expect(page.locator("#p1")).to_have_class("para highlight")
    expect(page.locator("#source")).to_have_attribute(
        "href", f"https://www.youtube.com/watch?v={quote(episode_id, safe='')}"
    )
