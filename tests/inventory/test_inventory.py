"""`hepstack inventory`: facts filled from the catalog and the evidence record, each citing its evidence;
a changed source makes the running-platform facts stale until rebuilt and proven again; every format."""

from __future__ import annotations

import csv
import io
import json
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hepstack.inventory.evidence import host_platform
from tests.cli_in_process import run_cli
from tests.inventory.conftest import Toy


def _inventory(capsys: pytest.CaptureFixture[str], toy: Toy, *extra: str) -> Any:
    code, out, err = run_cli(capsys, "inventory", str(toy.inventory), "--format", "json", *extra)
    assert code == 0, err
    return json.loads(out)


def _package(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in document["packages"] if p["name"] == name)


def _prove(capsys: pytest.CaptureFixture[str], toy: Toy) -> None:
    """Native and podman outputs, stamped, then `hepstack verify` (which records the evidence)."""
    native, podman = toy.outputs("native"), toy.outputs("podman")
    assert run_cli(capsys, "stamp", str(native), "--runtime", "native", "--image", "toy/app")[0] == 0
    assert run_cli(capsys, "stamp", str(podman), "--runtime", "podman", "--image", "toy/app")[0] == 0
    code, out, _ = run_cli(capsys, "verify", str(native / "reco"), str(podman / "reco"))
    assert code == 0 and out.startswith("equal:")


def test_facts_come_from_the_catalog_and_the_recorded_verify(
    capsys: pytest.CaptureFixture[str], toy: Toy
) -> None:
    for layer in ("base", "app", "tools"):
        toy.build(layer, ago=timedelta(hours=1))
    _prove(capsys, toy)
    document = _inventory(capsys, toy)
    reco = _package(document, "reco")
    assert reco["layers"] == ["app"] and reco["build_platform"] == "Debian bookworm (base)"
    assert [(i["layer"], i["up_to_date"]) for i in reco["images"]] == [("app", True)]
    platforms = reco["platforms"]
    assert sorted(platforms) == [f"native ({host_platform()})", "podman (app)"]  # runtime and image
    podman = platforms["podman (app)"]
    assert podman["verdict"] == "equal" and not podman["stale"]
    assert podman["image"].startswith("localhost/toy/app:")
    line = document["evidence"][podman["evidence"]]  # every mark cites a recorded line
    assert line["kind"] == "verify" and line["equal"] and line["b"] == str(toy.root / "podman" / "reco")
    helper = _package(document, "helper")
    assert helper["platforms"] == {} and helper["layers"] == ["tools"]
    assert reco["dependencies"] == ["numpy"] and reco["upgradable"] == "yes" and reco["vm"] is None


def test_a_changed_source_makes_the_facts_stale_until_rebuilt_and_proven_again(
    capsys: pytest.CaptureFixture[str], toy: Toy
) -> None:
    for layer in ("base", "app", "tools"):
        toy.build(layer, ago=timedelta(hours=1))
    _prove(capsys, toy)
    (toy.root / "pkg" / "reco.py").write_text("print('reco, fixed')\n")
    changed = _inventory(capsys, toy)
    reco, helper = _package(changed, "reco"), _package(changed, "helper")
    assert reco["changed_not_rebuilt"] == ["app"] and not reco["images"][0]["up_to_date"]
    assert all(fact["stale"] for fact in reco["platforms"].values())
    assert helper["changed_not_rebuilt"] == []  # its layer did not change
    toy.build("app")  # rebuilt: the facts from before the build stay stale
    assert all(fact["stale"] for fact in _package(_inventory(capsys, toy), "reco")["platforms"].values())
    _prove(capsys, toy)  # proven again with the new build
    fresh = _package(_inventory(capsys, toy), "reco")
    assert not any(fact["stale"] for fact in fresh["platforms"].values())
    assert sum(fact["stale"] for fact in fresh["runs"]) == 2  # the old facts are still listed, as stale


def test_a_different_output_is_a_cross(capsys: pytest.CaptureFixture[str], toy: Toy) -> None:
    toy.build("base")
    toy.build("app")
    native, podman = toy.outputs("native"), toy.outputs("podman", b"other data\n")
    run_cli(capsys, "stamp", str(native), "--runtime", "native", "--image", "toy/app")
    run_cli(capsys, "stamp", str(podman), "--runtime", "podman", "--image", "toy/app")
    assert run_cli(capsys, "verify", str(native / "reco"), str(podman / "reco"))[0] == 1
    fact = _package(_inventory(capsys, toy), "reco")["platforms"]["podman (app)"]
    assert fact["verdict"] == "different"
    code, out, _ = run_cli(capsys, "inventory", str(toy.inventory))
    assert code == 0 and "✗ podman (app): different [e1]" in out


def test_markdown_csv_and_html(capsys: pytest.CaptureFixture[str], toy: Toy) -> None:
    toy.build("base")
    toy.build("app")
    text = toy.inventory.read_text().replace(
        "comments: the one with outputs", 'comments: "=HYPERLINK(1) | <script>alert(1)</script>"'
    )
    toy.inventory.write_text(text)
    _prove(capsys, toy)
    code, markdown, _ = run_cli(capsys, "inventory", str(toy.inventory), "--format", "markdown")
    assert code == 0
    header = "| package | build platform | running platforms | special dependencies | upgradable | container"
    assert header in markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| reco |"))
    assert row.count(" | ") == 9  # the comment's pipe is escaped, not a new column
    assert "\\<script\\>" in row and "✓ podman (app) ([e1](#evidence-reco-e1-podman--app-))" in row
    assert '<a id="evidence-reco-e1-podman--app-"></a>' in markdown
    code, table, _ = run_cli(capsys, "inventory", str(toy.inventory), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(table)))
    assert rows[0]["comments"].startswith("'=HYPERLINK")  # never a formula in a spreadsheet
    code, page, _ = run_cli(capsys, "inventory", str(toy.inventory), "--format", "html")
    assert code == 0 and "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="#e1"' in page and '<li id="e1">' in page


def test_the_evidence_record_is_private(capsys: pytest.CaptureFixture[str], toy: Toy) -> None:
    toy.build("base")
    toy.build("app")
    _prove(capsys, toy)
    path = toy.context.data_dir / "evidence.jsonl"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["verify"]
    assert lines[0]["sides"]["b"]["runtime"] == "podman" and lines[0]["files"] == ["reco_1.dat"]
    path.chmod(0o622)  # writable by others: never read back
    code, _, err = run_cli(capsys, "inventory", str(toy.inventory))
    assert code == 2 and "evidence record" in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "stack: stack.yaml\npackages:\n  reco:\n    filez: [pkg/]\n",
            "inventory.yaml:4: packages.reco.filez: unknown key (got 'filez')",
        ),
        (
            "stack: stack.yaml\npackages:\n  reco:\n    files: [nope/]\n",
            "inventory.yaml:4: packages.reco.files[0]",
        ),
        (
            "stack: gone.yaml\npackages:\n  reco: {}\n",
            "inventory.yaml:1: stack: the stack spec does not exist",
        ),
        (
            "stack: stack.yaml\npackages:\n  reco: {runs_with: [rceo]}\n",
            "packages.reco.runs_with[0]: not another package",
        ),
    ],
)
def test_a_bad_inventory_file_is_located(
    capsys: pytest.CaptureFixture[str], toy: Toy, text: str, expected: str
) -> None:
    toy.inventory.write_text(text)
    code, _, err = run_cli(capsys, "inventory", str(toy.inventory))
    assert code == 2 and expected in err and "hint:" in err, err


def test_stamp_refuses_an_unknown_runtime(capsys: pytest.CaptureFixture[str], toy: Toy) -> None:
    code, _, err = run_cli(
        capsys, "stamp", str(toy.outputs("x")), "--runtime", "dokcer", "--image", "toy/app"
    )
    assert code == 2 and "docker" in err and not (toy.root / "x" / "hepstack-provenance.json").exists()


def test_bench_evidence_gives_runtime_facts(
    toy: Toy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hepstack.inventory.evidence import record_bench

    toy.build("base")
    app = toy.build("app")
    study = tmp_path / "study"
    study.mkdir()
    arm = {
        "runtime": "podman",
        "image": {"reference": app.reference, "id": app.image_id},
        "start_latency_s": {"median": 0.2},
        "workloads": {
            "recojob": {
                "groups": {"workers": {"score": {"relative_speed": 1.01, "interval": [0.99, 1.03]}}},
                "verify": {"equal": True},
            }
        },
    }
    summary = {"baseline": "native", "run_info": {"study": "s1", "mode": "study"}, "arms": {"podman": arm}}
    (study / "summary.json").write_text(json.dumps(summary))
    record_bench(study, toy.context)
    toy.inventory.write_text(
        toy.inventory.read_text().replace("dependencies: [numpy]", "workloads: [recojob]")
    )
    fact = _package(_inventory(capsys, toy), "reco")["platforms"]["podman (app)"]
    assert fact["verdict"] == "equal" and "1.010 [0.990, 1.030]" in fact["what"]
    assert fact["link"] == str(study / "report.html")


def test_pipeline_outputs_give_facts_at_their_site(
    capsys: pytest.CaptureFixture[str], toy: Toy, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import insert, select

    from hepstack.pipeline import db
    from tests.web.conftest import make_state

    toy.build("base")
    toy.build("app")
    state = make_state(toy.root)
    monkeypatch.setenv("HEPSTACK_STATE_DB", state.url)
    with state.database.write() as connection:
        instance = (
            connection.execute(
                select(db.instances.c.id).where(db.instances.c.state == "SUCCESS").order_by(db.instances.c.id)
            )
            .scalars()
            .first()
        )
        connection.execute(
            insert(db.outputs).values(
                instance_id=instance, name="reco", path=str(toy.root / "out" / "reco_7.dat"), size=10,
                sha256="0" * 64, created_at=db.now(),
            )
        )  # fmt: skip
    fact = _package(_inventory(capsys, toy), "reco")["platforms"]["site laptop"]
    assert (
        fact["verdict"] == "ran"
        and fact["evidence"].startswith("demo/s1/c")
        and fact["evidence"].endswith(":work#1")
    )
    assert fact["link"] == str(toy.root / "out" / "reco_7.dat") and "on node01" in fact["what"]
