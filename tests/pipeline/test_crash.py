"""`kill -9` of the orchestrator at every named moment of a two-level fan-out, and at random moments:
restarted each time, it ends with every instance succeeded exactly once and the same bytes as a run
that was never interrupted. (The same on the L1 pipeline: tests/pipeline/test_l1_farm.py.)"""

from __future__ import annotations

from pathlib import Path

from tests.pipeline.conftest import hepstack_pipeline
from tests.pipeline.crashing import check_exactly_once, checksums, run_with_crashes

PLAN = (
    "import json, os, sys, time; time.sleep(0.3); name, variable = sys.argv[1], sys.argv[2]; "
    "open(os.environ['LEDGER'], 'a').write(os.environ['HEPSTACK_INSTANCE'] + chr(10)); "
    "json.dump({'substreams': [{'pipeline': name, 'id': i, 'variables': {variable: i}}"
    " for i in sys.argv[3:]]},"
    " open(os.environ['HEPSTACK_SUMMARY'], 'w'))"
)
TREE = f"""\
pipeline: tree
version: 1
variables:
  OUT: {{required: true}}
  LEDGER: {{required: true}}
defaults:
  scheduler: local
  runtime: native
  env: {{PATH: /usr/bin:/bin, LEDGER: "${{LEDGER}}"}}
steps:
  plan:
    script: [python3, -c, "{PLAN}", chunk, CHUNK, c0, c1]
    creates: [chunk]
  total:
    needs: [{{step: chunk.merge, when: done, as: CHUNKS}}]
    image: demo/release
    command:
      - sh
      - -c
      - 'echo $$HEPSTACK_INSTANCE >> ${{LEDGER}}; cat "$$@" > ${{OUT}}/total.txt'
      - total
      - "${{CHUNKS}}"
    outputs: {{total: "${{OUT}}/total.txt"}}
subpipelines:
  chunk:
    variables: {{CHUNK: {{required: true}}}}
    steps:
      split:
        script: [python3, -c, "{PLAN}", crumb, CRUMB, k0, k1, k2]
        creates: [crumb]
      merge:
        needs: [{{step: crumb.work, when: done, as: CRUMBS}}]
        image: demo/release
        command:
          - sh
          - -c
          - 'echo $$HEPSTACK_INSTANCE >> ${{LEDGER}}; cat "$$@" > ${{OUT}}/${{CHUNK}}.txt'
          - merge
          - "${{CRUMBS}}"
        outputs: {{merged: "${{OUT}}/${{CHUNK}}.txt"}}
    subpipelines:
      crumb:
        variables: {{CRUMB: {{required: true}}}}
        steps:
          work:
            image: demo/release
            command:
              - sh
              - -c
              - >-
                echo $$HEPSTACK_INSTANCE >> ${{LEDGER}}; sleep 0.4;
                echo "${{STREAM}}" > ${{OUT}}/crumb-${{CHUNK}}-${{CRUMB}}.txt
            outputs: {{crumb: "${{OUT}}/crumb-${{CHUNK}}-${{CRUMB}}.txt"}}
"""


def test_sigkill_at_every_moment_loses_nothing_and_runs_nothing_twice(
    tmp_path: Path, pipeline_env: dict[str, str]
) -> None:
    path = tmp_path / "tree.yaml"
    path.write_text(TREE)
    reference_env = {
        **pipeline_env,
        "HEPSTACK_STATE_DB": pipeline_env["HEPSTACK_STATE_DB"] + "-reference",
        "HEPSTACK_DATA_DIR": pipeline_env["HEPSTACK_DATA_DIR"] + "-reference",
    }
    outputs = {}
    for name, env in (("reference", reference_env), ("crashed", pipeline_env)):
        out = tmp_path / name
        out.mkdir()
        hepstack_pipeline(
            "create",
            str(path),
            "--stream",
            "t1",
            "--var",
            f"OUT={out}",
            "--var",
            f"LEDGER={tmp_path / name}.ledger",
            env=env,
        )
        outputs[name] = out
    hepstack_pipeline("run", "--poll", "0.5", env=reference_env, timeout=600)
    log = run_with_crashes(pipeline_env)
    print(f"kills at: {log.kills}; random kills: {log.random_kills}")
    assert len(set(log.kills)) >= 10, log.kills
    assert {"after-submit", "after-intent", "after-jobdir"} <= set(
        log.kills
    )  # between submit and record, too
    counts = check_exactly_once(pipeline_env)
    assert counts["instances"] == 1 + 1 + 2 * (2 + 3)  # plan, total; per chunk split + merge + 3 crumbs
    assert checksums(outputs["crashed"]) == checksums(outputs["reference"])
    # what the payloads themselves say, independent of hepstack's records: each ran exactly once
    ran = (tmp_path / "crashed.ledger").read_text().splitlines()
    assert len(ran) == len(set(ran)) == counts["instances"], sorted(ran)
    assert len(checksums(outputs["crashed"])) == 1 + 2 + 6
