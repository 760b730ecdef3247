"""Drive the `audiodiff ui` page in headless Chromium (Debian's chromium + chromium-driver)
with Selenium: the browser tests (tests/ui/test_browser.py) and ``ui_screenshots.py`` share
these steps. Kept out of the package: it fetches pages over HTTP (the local server's)."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

WAIT = 120  # seconds for a page action on a busy 2-core machine


def chromium() -> tuple[str | None, str | None]:
    """(the chromium binary, chromedriver), None where missing."""
    return shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which(
        "chromedriver"
    )


def start_server(args: list[str], log: Path, timeout: float = WAIT) -> tuple[subprocess.Popen, str]:
    """``audiodiff ui`` with ``args`` (which must hold port=) in a subprocess, its output in
    ``log``; (the process, its URL) once the page answers. RuntimeError with the log if it
    exits or does not answer within ``timeout`` s."""
    port = next(a.split("=", 1)[1] for a in args if a.startswith("port="))
    out = open(log, "w")  # noqa: SIM115 - the child writes to it while it runs
    proc = subprocess.Popen([sys.executable, "-m", "audiodiff", "ui", *args], stdout=out,
                            stderr=subprocess.STDOUT)  # fmt: skip
    out.close()
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"audiodiff ui did not start:\n{log.read_text()}") from None
            time.sleep(0.5)


def browser(width: int = 1400, height: int = 1500):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    binary, driver = chromium()
    options = Options()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                f"--window-size={width},{height}"):  # fmt: skip
        options.add_argument(arg)
    page = webdriver.Chrome(service=Service(driver), options=options)
    page.set_page_load_timeout(WAIT)
    return page


def wait_for(page, css: str, timeout: float = WAIT) -> list:
    """The elements matching ``css`` once there is one."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(page, timeout).until(lambda d: d.find_elements(By.CSS_SELECTOR, css))
    return page.find_elements(By.CSS_SELECTOR, css)


def set_number(page, css: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = page.find_element(By.CSS_SELECTOR, f"{css} input")
    box.clear()
    box.send_keys(value, Keys.TAB)


def choose(page, css: str, option: str) -> None:
    """Pick ``option`` in the dropdown ``css``."""
    from selenium.webdriver.common.by import By

    page.find_element(By.CSS_SELECTOR, f"{css} input").click()
    items = wait_for(page, "[role=option]")
    [item for item in items if item.text.strip() == option][0].click()


def open_tab(page, name: str) -> None:
    from selenium.webdriver.common.by import By

    tabs = page.find_elements(By.CSS_SELECTOR, "button[role=tab]")
    [t for t in tabs if t.text.strip() == name][0].click()


def upload(page, css: str, path: str | Path) -> None:
    """Put the file ``path`` into the upload area ``css``."""
    wait_for(page, f"{css} input[type=file]")[0].send_keys(str(Path(path).resolve()))


def download_wav(url: str) -> tuple[int, int]:
    """(frames, sample rate) of the WAV at url."""
    import soundfile as sf

    with urllib.request.urlopen(url, timeout=30) as response:
        meta = sf.info(io.BytesIO(response.read()))
    return meta.frames, meta.samplerate
