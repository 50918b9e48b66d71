"""The web page at / in a real browser: Debian's Chromium driven by Playwright, against a real
server process on 127.0.0.1 (tiny.en drafted by its own int8 copy, API keys on).

Screenshots at desktop (1280x800) and phone (390x844) width go to test-artifacts/ at the
repository root (git-ignored); their paths are printed.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from server_helpers import ROOT, TEST_UPLOAD_LIMIT, LiveServer, start_server

pytestmark = pytest.mark.slow

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="pip install playwright (the `test` extra)"
)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(
        "no chromium: `make test` installs it (apt-get install chromium)", allow_module_level=True
    )

KEY = "page-test-key"
ARTIFACTS = ROOT / "test-artifacts"
CLIP = ROOT / "tests" / "data" / "dev" / "dev_001.wav"  # "Please remember to bring ..."
LONG = ROOT / "tests" / "data" / "long" / "long_001.flac"  # 90 s, 2.1 MB: several windows
TIMEOUT_MS = 60_000
SRT_CUE = re.compile(
    r"(\d+)\n(\d\d:\d\d:\d\d,\d\d\d) --> (\d\d:\d\d:\d\d,\d\d\d)\n(.+?)\n", re.MULTILINE
)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    live = start_server(
        {
            "default_model": "tiny.en",
            "default_draft": "self-int8",
            "warmup": "false",
            "threads": "1",
            "api_keys": KEY,
            "max_upload_bytes": str(3 * TEST_UPLOAD_LIMIT),
        }
    )
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield launched
        finally:
            launched.close()


def open_page(browser, server: LiveServer, width: int, height: int):
    """The page, after the key has been given (the server has keys, so it first asks)."""
    page = browser.new_page(viewport={"width": width, "height": height}, accept_downloads=True)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server.url + "/")
    alert = page.locator("#error")
    alert.wait_for(state="visible")
    assert "API key needed" in alert.inner_text() and "API key" in alert.inner_text()
    page.fill("#api-key", KEY)
    page.locator("#api-key").dispatch_event("change")
    page.wait_for_function("document.querySelector('#model').value === 'tiny.en'")
    assert page.locator("#error").is_hidden()
    return page


def transcribe(page, path: Path, compare: bool = False, wait: bool = True) -> None:
    page.set_input_files("#file", str(path))
    if compare:
        page.check("#compare")
    page.click("#go")
    if wait:
        wait_until_finished(page)


def wait_until_finished(page) -> None:
    page.wait_for_function(
        "document.querySelector('#status').textContent.startsWith('Done')"
        " || !document.querySelector('#error').hidden"
    )


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def test_upload_words_downloads_and_the_speculative_panel(browser, server):
    page = open_page(browser, server, 1280, 800)
    transcribe(page, CLIP, compare=True)
    assert page.locator("#error").is_hidden(), page.locator("#error").inner_text()
    text = page.locator("#transcript").inner_text()
    assert "Please remember to bring the signed forms" in text
    assert page.locator(".segment").count() >= 1
    words = page.locator(".word")
    assert words.count() >= 10
    # The panel: the draft, its acceptance, the time split, and the comparison run.
    page.wait_for_function("!document.querySelector('#speedup').hidden")
    panel = page.locator("#stats-section").inner_text()
    assert "self-int8" in panel and "Draft tokens accepted" in panel
    assert "main encoder" in panel and "word timestamps" in panel
    assert re.search(r"Speedup against decoding without a draft: \d+\.\d\d×", panel)
    assert "the same text" in panel

    # Playing: move the audio into the fourth word and see it highlighted.
    fourth = words.nth(3)
    start, end = float(fourth.get_attribute("data-start")), float(fourth.get_attribute("data-end"))
    page.evaluate(f"document.querySelector('#player').currentTime = {(start + end) / 2}")
    page.wait_for_selector(".word.current")
    assert page.locator(".word.current").inner_text() == fourth.inner_text()
    assert fourth.get_attribute("class") == "word current"

    # Keyboard: a segment's time button plays from its start.
    page.locator(".segment .time").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#player').currentTime < 0.3")

    with page.expect_download() as caught:
        page.click("button[data-format=srt]")
    download = caught.value
    assert download.suggested_filename == "dev_001.srt"
    srt = Path(download.path()).read_text()
    cues = SRT_CUE.findall(srt)
    assert cues and cues[0][0] == "1" and cues[0][1] == "00:00:00,000"
    assert "Please remember" in cues[0][3]
    assert screenshot(page, "page-desktop-1280x800.png").stat().st_size > 10_000
    page.close()


def test_phone_width_live_segments_and_a_readable_error(browser, server, tmp_path):
    page = open_page(browser, server, 390, 844)
    transcribe(page, LONG, wait=False)
    # Segments appear while the later windows are still being decoded.
    page.wait_for_selector(".segment")
    assert page.locator("#status").inner_text().startswith("Transcribing")
    wait_until_finished(page)
    assert page.locator("#error").is_hidden(), page.locator("#error").inner_text()
    assert page.locator(".segment").count() >= 6
    assert "Tuesday update" in page.locator("#transcript").inner_text()
    # Nothing wider than the screen: no sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # A word late in the file is highlighted and scrolled into the transcript's view.
    last = page.locator(".word").last
    start, end = float(last.get_attribute("data-start")), float(last.get_attribute("data-end"))
    page.evaluate(f"document.querySelector('#player').currentTime = {(start + end) / 2}")
    page.wait_for_selector(".word.current")
    assert page.locator(".word.current").inner_text() == last.inner_text()
    box = page.locator("#transcript").bounding_box()
    word = page.locator(".word.current").bounding_box()
    assert box["y"] <= word["y"] and word["y"] + word["height"] <= box["y"] + box["height"]
    screenshot(page, "page-phone-390x844.png")

    bad = tmp_path / "notes.wav"
    bad.write_text("These are meeting notes, not audio.\n" * 20)
    transcribe(page, bad)
    error = page.locator("#error")
    assert error.is_visible()
    message = error.inner_text()
    assert "Something went wrong" in message and "notes.wav" in message
    assert "unsupported_audio" in message and "HTTP 415" in message
    assert page.locator("#status").inner_text() == "The transcription failed."
    screenshot(page, "page-phone-error.png")
    page.close()
