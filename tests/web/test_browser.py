"""The dashboard in a real browser (Debian's chromium through chromedriver, Selenium): a real pipeline runs
on the local scheduler with native jobs while the pipeline page updates itself, its counts match
`hepstack pipeline status --json`, a failed instance's log (with HTML and script in it) is on its stream
page as text, an action goes through the token login and the CSRF-protected form, every page loads with
no console error. Screenshots of every page are saved (paths printed; HEPSTACK_SCREENSHOTS=DIR keeps them
there) and `hepstack inventory --format html` is opened from its file.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hepstack.inventory.evidence import host_platform
from tests.bench.helpers import write_art_db
from tests.services.endpoints import Chromium

webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed: pip install -e '.[dev]'"
)
pytest.importorskip("flask", reason="the dashboard's extra is not installed: pip install -e '.[web]'")

HEPSTACK = str(Path(sys.executable).parent / "hepstack")
HOSTILE = "<b>bold</b> <script>window.__pwned=1</script>"

LIVE = """\
pipeline: live
version: 1
variables:
  OUT: {required: true}
  NOTE: {default: "<script>window.__pwned=1</script><i>note</i>"}
defaults:
  scheduler: local
  runtime: native
  env: {PATH: /usr/bin:/bin}
  binds: ["${OUT}"]
steps:
  plan:
    script:
      - python3
      - -c
      - |
        import json, os
        crumbs = ["a", "b", "bad", "c", "d", "e"]
        json.dump({"substreams": [{"pipeline": "crumb", "id": c, "variables": {"CRUMB": c}} for c in crumbs]},
                  open(os.environ["HEPSTACK_SUMMARY"], "w"))
    creates: [crumb]
  merge:
    needs: [{step: crumb.work, when: done, as: GOOD}]
    image: demo/release
    command: [sh, -c, 'cat "$@" > ${OUT}/merged.txt', merge, "${GOOD}"]
subpipelines:
  crumb:
    variables: {CRUMB: {required: true}}
    steps:
      work:
        image: demo/release
        max_running: 2
        command:
          - sh
          - -c
          - |
            sleep 1.5
            if [ ${CRUMB} = bad ]; then echo "ERROR: HOSTILE"; exit 3; fi
            echo "crumb ${CRUMB}" > ${OUT}/crumb-${CRUMB}.txt
        outputs: {text: "${OUT}/crumb-${CRUMB}.txt"}
""".replace("HOSTILE", HOSTILE)


class Dashboard:
    def __init__(self, env: dict[str, str], root: Path) -> None:
        self.env = env
        self.root = root
        self.screenshots = Path(os.environ.get("HEPSTACK_SCREENSHOTS") or root / "screenshots")
        self.screenshots.mkdir(parents=True, exist_ok=True)
        self.saved: list[Path] = []
        self.url = ""

    def hepstack(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [HEPSTACK, *args], capture_output=True, text=True, env={**os.environ, **self.env}, timeout=240
        )
        if check and result.returncode != 0:
            raise AssertionError(f"hepstack {' '.join(args)}: {result.stdout}\n{result.stderr}")
        return result

    def status(self) -> dict[str, Any]:
        return json.loads(self.hepstack("pipeline", "status", "live", "--json").stdout)["steps"]


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[Dashboard]:
    env = {
        "HEPSTACK_DATA_DIR": str(tmp_path / "data"),
        "HEPSTACK_CACHE_DIR": str(tmp_path / "cache"),
        "HEPSTACK_STATE_DB": f"sqlite:///{tmp_path / 'state.sqlite'}",
        "HEPSTACK_SITES_PATH": str(tmp_path / "sites"),
    }
    (tmp_path / "sites").mkdir()
    board = Dashboard(env, tmp_path)
    _evidence(board, tmp_path)
    server = subprocess.Popen(
        [
            HEPSTACK,
            "serve",
            "--port",
            "0",
            "--allow-actions",
            "--inventory",
            str(tmp_path / "toy" / "inventory.yaml"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **env},
    )
    try:
        assert server.stdout is not None
        match = re.search(r"(http://127\.0\.0\.1:\d+)/", server.stdout.readline())
        assert match, "the dashboard did not start"
        board.url = match[1]
        yield board
    finally:
        server.terminate()
        server.communicate(timeout=30)
        print("screenshots:\n  " + "\n  ".join(str(path) for path in board.saved))


def _evidence(board: Dashboard, root: Path) -> None:
    """A toy stack with a build in the catalog and a verify, and a recorded `bench compare`: content for
    the inventory, studies and evidence pages."""
    from hepstack.context import Context
    from tests.inventory.conftest import INVENTORY, STACK, Toy

    toy = root / "toy"
    (toy / "pkg").mkdir(parents=True)
    (toy / "pkg" / "reco.py").write_text("print('reco')\n")
    (toy / "tools").mkdir()
    (toy / "tools" / "helper.py").write_text("print('helper')\n")
    (toy / "stack.yaml").write_text(STACK)
    (toy / "inventory.yaml").write_text(INVENTORY)
    toy_state = Toy(toy, Context.from_environment(board.env), toy / "inventory.yaml")
    toy_state.build("base")
    toy_state.build("app")  # as `hepstack build` records it (no engine needed for the page)
    for runtime in ("native", "podman"):
        toy_state.outputs(runtime)
        board.hepstack("stamp", str(root / "toy" / runtime), "--runtime", runtime, "--image", "toy/app")
    board.hepstack("verify", str(toy / "native" / "reco"), str(toy / "podman" / "reco"))
    native = write_art_db(root / "n.db")
    other = write_art_db(root / "o.db", scale=1.02)
    board.hepstack("bench", "compare", f"native={native}", f"podman={other}", "--output", str(root / "study"))


def _browser(chromium: Chromium, profile: Path) -> Any:
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium.browser)  # Debian's, not one Selenium Manager would download
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
                     f"--user-data-dir={profile}"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(
        options=options, service=webdriver.ChromeService(executable_path=str(chromium.driver))
    )


def _page_counts(driver: Any) -> dict[str, dict[str, int]]:
    """The matrix on the page: step -> state -> count, as the browser shows it now."""
    cells = driver.execute_script(
        "return Array.from(document.querySelectorAll('table.matrix td[data-state]'))"
        ".map(c => [c.dataset.step, c.dataset.state, c.textContent.trim()])"
    )
    counts: dict[str, dict[str, int]] = {}
    for step, state, text in cells:
        counts.setdefault(step, {})
        if state != "total" and text:
            counts[step][state] = int(text)
    return counts


def _visit(board: Dashboard, driver: Any, path: str, name: str) -> None:
    """Load a page, save its screenshot, and fail on any console error it logged."""
    driver.get(path if path.startswith(("http", "file")) else board.url + path)
    _shoot(board, driver, name)
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, (path, errors)
    assert driver.execute_script("return window.__pwned") is None


def _shoot(board: Dashboard, driver: Any, name: str) -> None:
    path = board.screenshots / f"{len(board.saved) + 1:02d}-{name}.png"
    driver.save_screenshot(str(path))
    board.saved.append(path)


def test_dashboard_in_a_browser_while_a_pipeline_runs(
    dashboard: Dashboard, chromium: Chromium, tmp_path: Path
) -> None:
    (tmp_path / "definition.yaml").write_text(LIVE)
    out = tmp_path / "out"
    out.mkdir()
    dashboard.hepstack(
        "pipeline", "create", str(tmp_path / "definition.yaml"), "--stream", "s1", "--var", f"OUT={out}"
    )
    driver = _browser(chromium, tmp_path / "profile")
    try:
        _visit(dashboard, driver, "/pipelines/live", "pipeline-waiting")
        first = _page_counts(driver)
        assert first == dashboard.status()  # all WAITING: the page and the CLI agree
        orchestrator = subprocess.Popen(
            [HEPSTACK, "pipeline", "run", "--poll", "0.5"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **dashboard.env},
        )
        try:
            seen, matched_while_running = _watch_live(dashboard, driver, first, orchestrator)
        finally:
            orchestrator.wait(timeout=180)
        assert len(seen) >= 3, seen  # the counts changed on the page, without reloading it
        assert matched_while_running, "the page never matched `pipeline status --json` while it ran"
        _shoot(dashboard, driver, "pipeline-done")
        assert _page_counts(driver) == dashboard.status()  # the live page's last counts are the final ones
        assert dashboard.status()["crumb.work"] == {"SUCCESS": 5, "FAILED": 1}
        failed_instance = _stream_page_shows_the_failed_log(dashboard, driver)
        _roll_back_through_the_form(dashboard, driver, failed_instance)
        for path, name in (
            ("/", "overview"),
            ("/images", "images"),
            ("/studies", "studies"),
            ("/studies/e2", "study"),
            ("/inventory", "inventory"),
            ("/runtimes", "runtimes"),
            ("/evidence/e1", "evidence"),
        ):
            _visit(dashboard, driver, path, name)
        page = tmp_path / "inventory.html"
        page.write_text(
            dashboard.hepstack("inventory", str(tmp_path / "toy" / "inventory.yaml"), "-f", "html").stdout
        )
        _visit(dashboard, driver, page.as_uri(), "inventory-html-file")
        marks = [mark.text for mark in driver.find_elements("css selector", "tr#package-reco a.mark")]
        assert marks == [f"✓ native ({host_platform()})", "✓ podman (app)"], marks
    finally:
        driver.quit()


def _watch_live(
    board: Dashboard, driver: Any, first: dict[str, dict[str, int]], orchestrator: subprocess.Popen[bytes]
) -> tuple[list[dict[str, dict[str, int]]], bool]:
    """Until the pipeline is done: the counts the live page shows (never reloaded); and once, with jobs
    running, the orchestrator (the only writer of the state) paused for a moment, so that a freshly
    loaded page and `status --json` are read from the same state: they must agree."""
    seen = [first]
    matched = False
    deadline = time.monotonic() + 150
    live = driver.current_window_handle
    driver.switch_to.new_window("tab")
    check = driver.current_window_handle
    driver.switch_to.window(live)
    while time.monotonic() < deadline:
        now = _page_counts(driver)
        if now != seen[-1]:
            seen.append(now)
            if len(seen) == 3:
                _shoot(board, driver, "pipeline-running")
        if driver.execute_script("return document.querySelector('table.matrix').dataset.done") == "true":
            break
        running = any(state in counts for counts in now.values() for state in ("SUBMITTED", "RUNNING"))
        if running and not matched:
            os.kill(orchestrator.pid, signal.SIGSTOP)
            try:
                before = board.status()
                driver.switch_to.window(check)
                driver.get(board.url + "/pipelines/live")
                shown = _page_counts(driver)
                driver.switch_to.window(live)
                assert board.status() == before  # nothing wrote in between
            finally:
                os.kill(orchestrator.pid, signal.SIGCONT)
            assert shown == before
            matched = True
        time.sleep(0.3)
    driver.switch_to.window(check)
    driver.close()
    driver.switch_to.window(live)
    assert time.monotonic() < deadline, "the pipeline did not finish in time"
    return seen, matched


def _stream_page_shows_the_failed_log(board: Dashboard, driver: Any) -> str:
    """The stream page: the failed crumb's log inline, as text; returns the failed instance's URL."""
    _visit(board, driver, "/pipelines/live/streams/s1", "stream")
    logs = driver.find_elements("css selector", "details.failed-log pre.log")
    assert len(logs) == 1 and f"ERROR: {HOSTILE}" in logs[0].text  # the payload shown as text
    assert not driver.find_elements("css selector", "details.failed-log pre.log b")
    rows = driver.find_elements("css selector", "table.instances tr.state-row-FAILED")
    assert len(rows) == 1 and "local:" in rows[0].text  # the scheduler's job id
    variables = driver.find_element("css selector", "details")  # the stream's variables, NOTE among them
    assert "<script>window.__pwned=1</script><i>note</i>" in variables.get_attribute("textContent")
    assert not variables.find_elements("css selector", "i, script")
    rows[0].find_element("css selector", "td a").click()
    _shoot(board, driver, "instance-failed")
    assert f"ERROR: {HOSTILE}" in driver.find_element("css selector", "pre.log").text
    return str(driver.current_url)


def _roll_back_through_the_form(board: Dashboard, driver: Any, instance_url: str) -> None:
    token = (Path(board.env["HEPSTACK_DATA_DIR"]) / "serve-token").read_text().strip()
    _visit(board, driver, "/login", "login")
    driver.find_element("css selector", "input[name=token]").send_keys(token)
    driver.find_element("css selector", "main form button").click()
    _shoot(board, driver, "logged-in")
    assert "log out" in driver.page_source
    driver.get(instance_url)
    driver.find_element("css selector", "form.actions button").click()
    _shoot(board, driver, "rolled-back")
    assert "rolled back 2 process instance(s) (1 chosen, 1 downstream)" in driver.page_source
    assert board.status()["crumb.work"] == {"SUCCESS": 5, "WAITING": 1}
