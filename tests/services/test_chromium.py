"""Debian's chromium and chromedriver (scripts/setup-services.sh) for the dashboard's browser tests:
headless screenshots as root, and Selenium driving chromium through /usr/bin/chromedriver."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.services.endpoints import Chromium

PAGE = "data:text/html,<title>hepstack</title><h1 id=state>COMPLETED</h1>"


def test_headless_screenshot(chromium: Chromium, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            str(chromium.browser),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=640,480",
            PAGE,
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")) == (640, 480)


def test_selenium_drives_debian_chromedriver(chromium: Chromium, tmp_path: Path) -> None:
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed: pip install -e '.[dev]'"
    )
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium.browser)  # Debian's, not one Selenium Manager would download
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(argument)
    service = webdriver.ChromeService(executable_path=str(chromium.driver))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.get(PAGE)
        assert driver.title == "hepstack"
        assert driver.find_element(By.ID, "state").text == "COMPLETED"
    finally:
        driver.quit()
