"""The job report next to the timing DB: what a study reads when the job is not its child process."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli


def test_job_report_written_with_the_timing_db(tmp_path: Path) -> None:
    result = run_cli(["artstudy", "-q", "-n", "5", "-o", "out.root", "--timing-db", "t.db"], tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "t.db.job.json").read_text())
    assert set(report) == {"wall_s", "cpu_user_s", "cpu_sys_s", "maxrss_kb"}
    assert report["wall_s"] > 0 and report["cpu_user_s"] > 0
    assert report["maxrss_kb"] > 10_000  # five 250,000-integer vectors and numpy: well over 10 MB


def test_failed_job_leaves_no_job_report(tmp_path: Path) -> None:
    result = run_cli(["digi", "-s", "missing.ldf", "-o", "d.root", "--timing-db", "t.db"], tmp_path)
    assert result.returncode == 2
    assert not (tmp_path / "t.db.job.json").exists() and not (tmp_path / "t.db").exists()
