"""The status page, served by a real ``watcher run``, in a real headless Chromium: a moved tag
shows "rebuild needed" after the daemon's next round, its link leads to the timeline entry,
the filters work, and the page fits 375 px.

Uses Debian's /usr/bin/chromium and /usr/bin/chromedriver only; nothing is downloaded.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.acceptance.cli import write_config
from tests.support import free_port, missing_component, wait_until
from tests.support.daemon import start_daemon, stop_daemon
from tests.support.push import Pusher
from tests.support.registry import RunningRegistry

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Set to a path to keep the wide screenshot (docs/images/status-page.png is made this way).
SCREENSHOT_COPY = os.environ.get("WATCHER_PAGE_SCREENSHOT")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        missing_component("chromium and chromium-driver are not installed")
    os.environ["SE_OFFLINE"] = "true"  # selenium-manager must never fetch a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(tmp_path / "driver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _state_of(driver: WebDriver, ref: str) -> str:
    from selenium.webdriver.common.by import By

    row = driver.find_element(By.CSS_SELECTOR, f'tr[data-ref="{ref.lower()}"]')
    return str(row.find_element(By.CSS_SELECTOR, ".badge").text)


@pytest.mark.registry
def test_the_page_in_a_browser(
    browser: WebDriver, registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    driver = browser
    push = registry_open.push
    names = ["python", "debian", "nginx"]
    refs = {}
    for name in names:
        push.push_image(f"{repository}/{name}", "1.0")
        refs[name] = str(registry_open.ref(f"{repository}/{name}", "1.0"))
    push.push_image(f"{repository}/nginx", "1.1")
    db = tmp_path / "watcher.db"
    config = write_config(tmp_path / "watcher.toml", registry_open,
                          [{"ref": ref} for ref in refs.values()], database=f"sqlite:///{db}")
    port = free_port()
    text = config.read_text().replace("[watcher]\n", '[watcher]\ninterval = "2s"\njitter = 0\n', 1)
    config.write_text(text + f'\n[http]\nlisten = "127.0.0.1:{port}"\n')
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "daemon.log"
    daemon = start_daemon(config, log)
    try:
        def ready() -> bool:
            assert daemon.poll() is None, log.read_text()
            try:
                return httpx.get(f"{url}/readyz", timeout=2).json()["last_round"] is not None
            except (httpx.HTTPError, ValueError):
                return False

        wait_until(ready, timeout=60, what="the daemon's first round")
        _browse(driver, url, refs, push, repository, tmp_path)
    finally:
        returncode = stop_daemon(daemon)
    assert returncode == 0, log.read_text()
    assert (tmp_path / "status-page.png").stat().st_size > 0
    assert (tmp_path / "status-page-375.png").stat().st_size > 0


def _browse(driver: WebDriver, url: str, refs: dict[str, str], push: Pusher, repository: str,
            tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.get(url + "/")
    assert _state_of(driver, refs["python"]) == "up to date"
    assert _state_of(driver, refs["nginx"]) == "newer version"

    push.move_tag(f"{repository}/python", "1.0")

    def rebuild_shown() -> bool:
        driver.refresh()
        return _state_of(driver, refs["python"]) == "rebuild needed"

    wait_until(rebuild_shown, timeout=60, max_interval=0.5,
               what="the daemon's next round on the page")
    first = driver.find_element(By.CSS_SELECTOR, "#images tbody tr")
    assert first.get_attribute("data-ref") == refs["python"].lower()  # attention first
    driver.save_screenshot(str(tmp_path / "status-page.png"))
    if SCREENSHOT_COPY:
        shutil.copyfile(tmp_path / "status-page.png", SCREENSHOT_COPY)

    # The filters work without reloading (plain JavaScript) ...
    Select(driver.find_element(By.ID, "state")).select_by_value("newer_version")
    visible = driver.find_elements(By.CSS_SELECTOR, "#images tbody tr:not(.hidden)")
    assert [row.get_attribute("data-ref") for row in visible] == [refs["nginx"].lower()]
    assert "state=newer_version" in driver.current_url
    Select(driver.find_element(By.ID, "state")).select_by_value("")
    driver.find_element(By.ID, "q").send_keys("DEBIAN")
    visible = driver.find_elements(By.CSS_SELECTOR, "#images tbody tr:not(.hidden)")
    assert [row.get_attribute("data-ref") for row in visible] == [refs["debian"].lower()]

    # ... and the image's link leads to its timeline with the change.
    driver.get(url + "/")
    driver.find_element(By.LINK_TEXT, refs["python"]).click()
    wait_until(lambda: "/images/" in driver.current_url, timeout=30,
               what="the image page")
    timeline = driver.find_element(By.CSS_SELECTOR, "ol.timeline")
    entries = timeline.find_elements(By.TAG_NAME, "li")
    assert "digest changed" in entries[0].text
    assert "first seen" in entries[-1].text

    # Usable on a phone: nothing wider than the screen.
    driver.set_window_size(375, 800)
    for path in ("/", driver.current_url, "/deliveries"):
        driver.get(path if path.startswith("http") else url + path)
        width = driver.execute_script("return window.innerWidth")
        assert width <= 400, width
        overflow = driver.execute_script(
            "const e = document.documentElement; return e.scrollWidth - e.clientWidth")
        assert overflow <= 0, f"{path}: the body is {overflow}px wider than the screen"
    driver.get(url + "/")
    driver.save_screenshot(str(tmp_path / "status-page-375.png"))
