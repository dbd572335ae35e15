"""The dashboard's defences (docs/dashboard.md, security): hostile values shown inert, actions refused without
the token and from other sites, only the Host it serves, no file outside where it belongs, loopback by
default. The Flask test client for the pages; a real `hepstack serve` for the socket."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.web.conftest import PAYLOAD, State, client_for

ORIGIN = "http://127.0.0.1:8470"


def _get(client, path: str):  # type: ignore[no-untyped-def]
    return client.get(path, base_url=ORIGIN)


def _csrf(client) -> str:  # type: ignore[no-untyped-def]
    page = _get(client, "/login").get_data(as_text=True)
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, page
    return match[1]


def test_stream_variable_job_name_and_log_line_are_inert(state: State) -> None:
    client = client_for(state)
    pages = {
        "stream": _get(client, "/pipelines/demo/streams/s1"),
        "crumb": _get(client, "/pipelines/demo/streams/s1/c0"),
        "instance": _get(client, f"/instances/{state.failed_instance}"),
        "log": _get(client, f"/logs/{state.failed_attempt}"),
    }
    assert all(response.status_code == 200 for response in pages.values())
    escaped = (
        "&lt;script&gt;window.__pwned=1&lt;/script&gt;&lt;img src=x onerror=&#34;window.__pwned=2&#34;&gt;"
    )
    stream = pages["stream"].get_data(as_text=True)
    assert escaped + "&lt;b&gt;bold&lt;/b&gt;" in stream  # NOTE, the stream variable
    assert "ERROR: " + escaped in stream  # the failed crumb's log, inline on the stream page
    instance = pages["instance"].get_data(as_text=True)
    assert f"hs-{escaped}" in instance  # the job name
    for page in (stream, instance):
        assert "<script>window" not in page and "<img src=x" not in page and "<b>bold" not in page
    log = pages["log"]
    assert log.mimetype == "text/plain" and log.headers["X-Content-Type-Options"] == "nosniff"
    assert PAYLOAD in log.get_data(as_text=True)  # as text, which a browser never runs
    policy = pages["stream"].headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_actions_are_not_there_unless_allowed(state: State) -> None:
    client = client_for(state)
    csrf = _csrf_from(client, "/")
    response = client.post("/actions/cancel", base_url=ORIGIN, data={"csrf": csrf, "target": "demo/s1"})
    assert response.status_code == 404
    assert "CANCELED" not in _status(state)


def _csrf_from(client, path: str) -> str:  # type: ignore[no-untyped-def]
    _get(client, path)
    with client.session_transaction(base_url=ORIGIN) as session:
        return str(session["csrf"])


def _status(state: State) -> str:
    from hepstack.pipeline.address import Address
    from hepstack.pipeline.report import matrix

    with state.database.read() as connection:
        return str(matrix(connection, Address("demo")).as_json())


TOKEN = "a-token-of-at-least-sixteen-characters"


def test_actions_need_the_token_and_refuse_other_sites(state: State) -> None:
    client = client_for(state, allow_actions=True, token=TOKEN)
    csrf = _csrf(client)
    target = {"csrf": csrf, "target": "demo/s1/c0:work"}
    assert client.post("/actions/rollback", base_url=ORIGIN, data=target).status_code == 403  # no login
    wrong = client.post("/login", base_url=ORIGIN, data={"csrf": csrf, "token": "wrong" * 8})
    assert wrong.status_code == 403 and TOKEN not in wrong.get_data(as_text=True)
    no_csrf = client.post("/login", base_url=ORIGIN, data={"token": TOKEN})
    assert no_csrf.status_code == 403
    cross = client.post(
        "/login",
        base_url=ORIGIN,
        data={"csrf": csrf, "token": TOKEN},
        headers={"Origin": "http://evil.example"},
    )
    assert cross.status_code == 403 and "cross-site" in cross.get_data(as_text=True)
    assert client.post("/login", base_url=ORIGIN, data={"csrf": csrf, "token": TOKEN}).status_code == 303
    csrf = _csrf_from(client, "/")  # a new session after logging in: a new CSRF token
    target["csrf"] = csrf
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://127.0.0.1:9999"}):
        refused = client.post("/actions/rollback", base_url=ORIGIN, data=target, headers=headers)
        assert refused.status_code == 403
    stale = client.post("/actions/rollback", base_url=ORIGIN, data={**target, "csrf": "x" * 32})
    assert stale.status_code == 403
    assert "'WAITING'" not in _status(state).split("crumb.work")[1].split("}")[0]
    done = client.post(
        "/actions/rollback", base_url=ORIGIN, data=target, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert done.status_code == 200 and "rolled back 1 process instance" in done.get_data(as_text=True)
    assert "'crumb.work': {'SUCCESS': 2, 'WAITING': 1}" in _status(state)


def test_only_the_served_host_is_answered(state: State) -> None:
    client = client_for(state)
    assert _get(client, "/").status_code == 200
    rebinding = client.get("/", base_url="http://attacker.example:8470")
    assert rebinding.status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/studies/e1/files/../../etc/passwd",
        "/studies/e1/files/..%2f..%2fetc%2fpasswd",
        "/studies/e1/files/%2e%2e/%2e%2e/etc/passwd",
        "/logs/../../etc/passwd",
        "/logs/..%2f..%2fetc%2fpasswd",
        "/pipelines/demo/streams/../../../etc/passwd",
        "/static/../../../../etc/passwd",
    ],
)
def test_path_traversal_is_refused(state: State, tmp_path: Path, path: str) -> None:
    _record_a_study(tmp_path)
    client = client_for(state)
    own = _get(client, "/studies/e1/files/summary.json")  # the study's own file is served
    own.close()
    assert own.status_code == 200
    response = _get(client, path)
    response.close()
    assert response.status_code in (400, 404) and "root:x:0:0" not in response.get_data(as_text=True)


def _record_a_study(tmp_path: Path) -> None:
    from hepstack.inventory.evidence import record_bench

    study = tmp_path / "study"
    study.mkdir()
    (study / "summary.json").write_text('{"baseline": "native", "run_info": {"study": "s"}, "arms": {}}')
    record_bench(study)


def test_the_token_file_is_private(tmp_path: Path) -> None:
    from hepstack.errors import HepstackError
    from hepstack.web.security import load_token

    path = tmp_path / "token"
    token = load_token(path)
    assert len(token) >= 32 and (path.stat().st_mode & 0o777) == 0o600
    assert load_token(path) == token
    path.chmod(0o640)
    with pytest.raises(HepstackError, match="readable by others"):
        load_token(path)


def test_serve_listens_on_loopback_only_by_default(state: State, tmp_path: Path) -> None:
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "hepstack"), "serve", "--port", "0", "--allow-actions"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "HEPSTACK_STATE_DB": state.url},
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
        assert match, first
        port = int(match[1])
        listening = _listening_addresses(port)
        assert listening == {"127.0.0.1"}, listening
        token_file = Path(os.environ["HEPSTACK_DATA_DIR"]) / "serve-token"
        said = server.stdout.readline()
        assert str(token_file) in said and token_file.read_text().strip() not in said
    finally:
        server.terminate()
        server.communicate(timeout=30)


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of sockets listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    deadline = time.monotonic() + 10
    while not found and time.monotonic() < deadline:
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, _, hex_port = local.rpartition(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.add(_address(address))
    return found


def _address(hex_address: str) -> str:
    if len(hex_address) == 8:  # IPv4, little-endian
        return ".".join(str(int(hex_address[i : i + 2], 16)) for i in (6, 4, 2, 0))
    return hex_address
