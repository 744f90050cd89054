"""The web chat in a real headless Chromium (Debian's package), driven by Playwright.

Ask, watch the answer stream in, open a citation, follow it to the highlighted paragraph
in the reader; and check that markup in a question or a transcript runs nothing.
Screenshots go to artifacts/ (kept by CI as test artifacts).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from conftest import ROOT, serve_app, write_episode
from playwright.sync_api import Browser, Page, expect, sync_playwright

from assistant.api import create_app
from assistant.archive import Archive
from assistant.embed import NgramEmbedder
from assistant.ingest import ingest
from assistant.service import Assistant
from assistant.settings import Settings

pytestmark = pytest.mark.slow  # a real browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "artifacts"
EVIL_ZH = '恶意的段落<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">。'
EVIL_EN = 'A nasty paragraph <img src=x onerror="window.__pwned=3"> about quantum teleportation.'


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, indexed: Settings, ngram: NgramEmbedder
) -> Iterator[str]:
    root = tmp_path_factory.mktemp("browser")
    store_dir = root / "vs"
    shutil.copytree(indexed.vectorstore_dir, store_dir)
    settings = indexed.model_copy(update={"vectorstore_dir": store_dir})
    archive = Archive(settings, ngram)
    write_episode(root / "evil", "evil1", [(EVIL_ZH, EVIL_EN)], title="<b>Bold</b> title")
    ingest([root / "evil"], archive.store, max_bytes=10**6, lexical=archive.lexical_store)
    archive.refresh()
    with serve_app(create_app(settings, Assistant(archive))) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], errors


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_ask_stream_open_citation_and_follow_it_to_the_reader(site: str, page: Page) -> None:
    page.goto(site + "/")
    expect(page.locator("#f-speaker option")).to_have_count(3)  # Any, Amit Kukreja, Odd Lots
    page.fill("#question", "谁支持降息？")
    page.click("#send")
    answer = page.locator(".message.assistant").last
    expect(answer).not_to_have_class("message assistant pending", timeout=30_000)
    expect(answer.locator(".body")).to_contain_text("档案中的相关内容")
    chip = answer.locator(".chip").first
    expect(chip).to_have_text("1")
    shot(page, "chat-answer.png")

    chip.click()
    panel = page.locator("#panel")
    expect(panel).to_be_visible()
    expect(page.locator("#panel-zh")).to_contain_text("降息")
    expect(page.locator("#panel-en")).not_to_be_empty()
    expect(page.locator("#panel-source")).to_have_attribute(
        "href", "https://www.youtube.com/watch?v=49u9cMwrKao"
    )
    href = page.locator("#panel-reader").get_attribute("href") or ""
    assert href.startswith("/episodes/49u9cMwrKao#p")
    shot(page, "chat-citation.png")

    page.click("#panel-reader")
    target = page.locator(f"#{href.split('#')[1]}")
    expect(target).to_have_class("para highlight")
    expect(target).to_be_in_viewport()
    expect(page.locator("#title")).to_contain_text("美联储降息信号")
    shot(page, "reader-highlight.png")


def test_follow_up_and_start_over(site: str, page: Page) -> None:
    page.goto(site + "/")
    page.fill("#question", "What did Mary Daly say about a rate cut?")
    page.press("#question", "Enter")
    expect(page.locator(".message.assistant .chip").first).to_be_visible(timeout=30_000)
    page.fill("#question", "Why does she support it?")
    page.press("#question", "Enter")
    second = page.locator(".message.assistant").nth(1)
    # The follow-up names nobody: the previous question's subject carries over.
    expect(second.locator(".chip").first).to_be_visible(timeout=30_000)
    expect(second.locator(".body")).to_contain_text("Mary")
    page.click("#new-chat")
    expect(page.locator(".message")).to_have_count(0)
    expect(page.locator("#empty")).to_be_visible()


def test_markup_in_questions_and_transcripts_runs_nothing(site: str, page: Page) -> None:
    page.goto(site + "/")
    question = (
        '<img src=x onerror="window.__pwned=4"> quantum teleportation '
        "<script>window.__pwned=5</script>"
    )
    page.fill("#question", question)
    page.click("#send")
    expect(page.locator(".message.assistant")).to_have_count(1)
    expect(page.locator(".message.user .body")).to_have_text(question)
    expect(page.locator(".message.assistant")).not_to_have_class("message assistant pending")
    page.click("#new-chat")
    page.fill("#question", "What about quantum teleportation?")
    page.click("#send")
    answer = page.locator(".message.assistant").last
    expect(answer.locator(".chip").first).to_be_visible(timeout=30_000)
    answer.locator(".chip").first.click()
    expect(page.locator("#panel-en")).to_contain_text('<img src=x onerror="window.__pwned=3">')
    assert page.locator("#messages img, #panel img, #messages script").count() == 0
    page.goto(site + "/episodes/evil1#p1")
    expect(page.locator("#p1 .zh")).to_contain_text("<script>window.__pwned = 1</script>")
    expect(page.locator("#title")).to_have_text("<b>Bold</b> title")
    assert page.locator("#segments img, #segments script, #title b").count() == 0
    assert page.evaluate("window.__pwned") is None
    shot(page, "reader-injection.png")


def test_errors_and_empty_states(site: str, page: Page) -> None:
    page.goto(site + "/episodes/does-not-exist")
    expect(page.locator("#error")).to_contain_text("no episode")
    page.goto(site + "/")
    expect(page.locator("#empty")).to_be_visible()
    page.fill("#question", "x" * 2000)
    page.evaluate("document.getElementById('question').value += 'y'")  # past maxlength
    page.click("#send")
    expect(page.locator("#error")).to_contain_text("limit is 2000", timeout=30_000)


def test_readable_on_a_phone(site: str, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(site + "/")
    page.fill("#question", "What did Michael Burry say about Nvidia?")
    page.click("#send")
    expect(page.locator(".message.assistant .chip").first).to_be_visible(timeout=30_000)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "no horizontal scrolling on a phone"
    shot(page, "chat-phone.png")
    context.close()
