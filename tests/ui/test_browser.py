"""The web page in a real headless browser (Debian's chromium + chromium-driver, driven by
Selenium): `audiodiff ui` started as a user starts it, on tiny models, controls set and
buttons clicked, the WAVs downloaded and decoded. Marked `browser`: `make test-browser`.
Screenshots go to the test's tmp dir, and also to $AUDIODIFF_UI_SCREENSHOTS when set."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
import soundfile as sf

pytestmark = pytest.mark.browser

if not (shutil.which("chromium") or shutil.which("chromium-browser")) or not shutil.which(
    "chromedriver"
):
    pytest.skip(
        "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; "
        "`make test-browser` installs them)",
        allow_module_level=True,
    )
pytest.importorskip("gradio", reason="the web UI needs gradio (pip install 'audiodiff[ui]')")
pytest.importorskip("selenium", reason="needs selenium (pip install 'audiodiff[browser]')")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def ui(load_script):
    """scripts/ui_driver.py: the Selenium steps (shared with scripts/ui_screenshots.py)."""
    return load_script("ui_driver")


@pytest.fixture(scope="module")
def server(ui, ui_models, tmp_path_factory, ports):
    """`audiodiff ui` in a subprocess on a free port; its URL once it answers."""
    work = tmp_path_factory.mktemp("ui_work")
    args = [f"ckpt={ui_models.generator}", f"restore_ckpt={ui_models.restorer}",
            f"port={ports()}", f"work_dir={work}", "device=cpu", "threads=1"]  # fmt: skip
    proc, url = ui.start_server(args, work.parent / "ui_server.log")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def page(ui):
    driver = ui.browser()
    yield driver
    driver.quit()


def screenshot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.save_screenshot(str(path))
    extra = os.environ.get("AUDIODIFF_UI_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / path.name)
    assert path.stat().st_size > 10_000  # a rendered page, not a blank one
    return path


def test_generate_tab(ui, server, page, tmp_path):
    page.get(server)
    ui.wait_for(page, "#generate-button")
    ui.choose(page, "#label-instrument", "bell")
    ui.set_number(page, "#seconds", "0.75")
    ui.set_number(page, "#steps", "2")
    ui.set_number(page, "#seed", "5")
    page.find_element(By.ID, "generate-button").click()
    link = ui.wait_for(page, "#generate-audio-0 a[href]")[0].get_attribute("href")
    assert page.find_elements(By.CSS_SELECTOR, "#generate-audio-0 audio")  # the player
    assert link.endswith("_bell.wav")  # the dropdown's value reached the model
    frames, sr = ui.download_wav(link)
    assert frames == round(0.75 * sr) and sr == 16000
    status = page.find_element(By.ID, "generate-status").text
    assert status.startswith("generate: 1 clip(s) of 0.75 s")
    archive = ui.wait_for(page, "#generate-zip a[href]")[0].get_attribute("href")
    assert archive.endswith(".zip")
    ui.wait_for(page, "#generate-sheet img")
    screenshot(page, tmp_path, "generate")


def test_restore_tab(ui, server, page, tmp_path, recording):
    page.get(server)
    ui.wait_for(page, "#generate-button")
    ui.open_tab(page, "Restore")
    ui.upload(page, "#restore-input", recording)
    ui.wait_for(page, "#restore-input audio")  # the upload's own player
    page.find_element(By.ID, "restore-button").click()
    restored = ui.wait_for(page, "#restore-file a[href]")[0].get_attribute("href")
    meta = sf.info(str(recording))
    assert ui.download_wav(restored) == (meta.frames, meta.samplerate)  # length and rate kept
    a = ui.wait_for(page, "#restore-a a[href]")[0].get_attribute("href")
    b = ui.wait_for(page, "#restore-b a[href]")[0].get_attribute("href")
    assert a.endswith("A_input.wav") and b.endswith("B_output.wav")
    ui.wait_for(page, "#restore-sheet img")
    assert page.find_element(By.ID, "restore-status").text.startswith("denoise: 1.50 s")
    screenshot(page, tmp_path, "restore")


def test_a_bad_file_is_a_message_in_the_page(ui, server, page, tmp_path):
    page.get(server)
    ui.wait_for(page, "#generate-button")
    ui.open_tab(page, "Restore")
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio at all")
    ui.upload(page, "#restore-input", bad)
    time.sleep(1)
    page.find_element(By.ID, "restore-button").click()
    WebDriverWait(page, ui.WAIT).until(lambda d: "recording: notes.wav" in d.page_source)
    text = page.find_element(By.TAG_NAME, "body").text
    assert "recording: notes.wav: unreadable or corrupt audio file" in text
    assert "Traceback" not in text
    screenshot(page, tmp_path, "error")
