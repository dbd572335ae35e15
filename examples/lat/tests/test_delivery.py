"""lat-delivery: runs of raw chunks of chosen sizes, MC truth, a manifest; deterministic; all or nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import DELIVERY_ARGS, run_cli

from lat import delivery as delivery_tool
from lat.proc.manifest import load_delivery, read_ldf_header


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


def test_delivery_holds_the_chunks_asked_for(delivery: Path) -> None:
    import uproot

    manifest = load_delivery(delivery)
    assert manifest.delivery_id == "dl7" and manifest.seed == 7
    assert [[c.events for c in run.chunks] for run in manifest.runs] == [[120, 40], [50]]
    assert sorted(_files(delivery)) == [
        "delivery.json",
        "mc/mc_r000001.root",
        "mc/mc_r000002.root",
        "raw/raw_r000001_c000.ldf",
        "raw/raw_r000001_c001.ldf",
        "raw/raw_r000002_c000.ldf",
    ]
    for run in manifest.runs:
        first = 0
        for chunk in run.chunks:
            header = read_ldf_header(delivery / chunk.file)
            assert (header.run_id, header.chunk_id, header.events) == (
                run.run_id,
                chunk.chunk_id,
                chunk.events,
            )
            assert (header.first_event, header.last_event) == (first, first + chunk.events - 1)
            assert hashlib.sha256((delivery / chunk.file).read_bytes()).hexdigest() == chunk.sha256
            first += chunk.events
        with uproot.open(str(delivery / run.truth)) as truth:
            assert truth["McTruth"].num_entries == run.events
    # run 2 starts after run 1 (30 s gap), and its own seed
    run1, run2 = manifest.runs
    assert run2.start_met == pytest.approx(run1.stop_met + 30.0) and run1.seed != run2.seed


def test_same_seed_same_delivery_bytes(delivery: Path, tmp_path: Path) -> None:
    again = tmp_path / "dl7"
    result = run_cli([str(again), *DELIVERY_ARGS], tmp_path, module="lat.delivery")
    assert result.returncode == 0, result.stderr
    original, copy = _files(delivery), _files(again)
    assert original.keys() == copy.keys()
    assert [k for k in original if original[k] != copy[k]] == []


def test_seeded_spread_of_chunk_sizes() -> None:
    spread = delivery_tool.spread_chunk_events("1000:4000", 3, 4, seed=11)
    assert spread == delivery_tool.spread_chunk_events("1000:4000", 3, 4, seed=11)
    assert spread != delivery_tool.spread_chunk_events("1000:4000", 3, 4, seed=12)
    assert len(spread) == 3 and all(len(r) == 4 and all(1000 <= n <= 4000 for n in r) for r in spread)
    assert delivery_tool.listed_chunk_events("4600,3100,1400", 2) == [[4600, 3100, 1400]] * 2
    assert delivery_tool.listed_chunk_events("4600,3100/2000", 2) == [[4600, 3100], [2000]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--chunk-events", "10,x"], "--chunk-events '10,x': expected numbers"),
        (["--chunk-events", "10,0"], "chunk events [10, 0]: each 1 to"),
        (["--chunk-events", "10/20", "--runs", "3"], "--runs 3, but --chunk-events lists 2 runs"),
        (["--spread", "50:10"], "need 1 <= MIN <= MAX"),
        (["--first-run", "999999", "--runs", "2"], "run ids go from 0 to 999999"),
        (["--id", "../up"], "delivery id '../up' is not"),
        (["--seed", "-1"], "--seed -1: seeds are"),
    ],
)
def test_bad_delivery_options(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_cli([str(tmp_path / "d"), *args], tmp_path, module="lat.delivery")
    assert result.returncode == 2
    assert result.stderr.startswith("lat-delivery: error: ") and message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "d").exists()


def test_an_existing_delivery_is_not_overwritten(delivery: Path) -> None:
    before = _files(delivery)
    result = run_cli([str(delivery), *DELIVERY_ARGS], delivery.parent, module="lat.delivery")
    assert result.returncode == 2 and "already exists" in result.stderr
    assert _files(delivery) == before


def test_a_failed_run_leaves_no_delivery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second run's simulation fails after the first one wrote its files: nothing stays."""
    simulated = []
    real = delivery_tool.simulate_run

    def fail_second(work: Path, run_id: int, *args: object) -> object:
        if simulated:
            raise delivery_tool.StepFailed("the simulation of run 2 failed", 2)
        simulated.append(run_id)
        return real(work, run_id, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(delivery_tool, "simulate_run", fail_second)
    code = delivery_tool.main([str(tmp_path / "d"), "--chunk-events", "20/20", "--id", "d"])
    assert code == 2 and simulated == [1]
    assert list(tmp_path.iterdir()) == []  # neither the delivery nor its staging directory


def test_manifest_is_plain_json_with_relative_names(delivery: Path) -> None:
    data = json.loads((delivery / "delivery.json").read_text())
    assert data["format"] == "lat-delivery/1"
    chunk = data["runs"][0]["chunks"][0]
    assert chunk["file"] == "raw/raw_r000001_c000.ldf" and chunk["events"] == 120
