#!/usr/bin/env bash
# The project's test command (README command 2, and what .ci/run calls): lint, types, then pytest.
# Extra arguments go to pytest, e.g. scripts/test.sh -k spec -x
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
"$venv/bin/ruff" check src tests benchmarks
"$venv/bin/ruff" format --check src tests benchmarks
"$venv/bin/mypy"
# The example experiment's own tests run in its native install (Python 3.9-compatible code, own pins).
/opt/lat-native/bin/python -m pytest -q -p no:cacheprovider examples/lat/tests
exec "$venv/bin/python" -m pytest --durations=30 "$@"  # the slowest tests named in every CI log
