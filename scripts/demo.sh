#!/usr/bin/env bash
# The main job on the built-in example (README command 1, after set-up): build the example stack with
# podman, then run one command in the release image with every runtime that works here.
set -euo pipefail
cd "$(dirname "$0")/.."
hepstack=.venv/bin/hepstack
spec=examples/lat/stack.yaml

echo "== hepstack build $spec"
"$hepstack" build "$spec"

probe='echo "$(id -un 2>/dev/null || id -u) uid=$(id -u) release=${LAT_RELEASE:-none} framework=${LAT_FRAMEWORK:-none} $(python3 -c "import sys, numpy; print(\"python\", sys.version.split()[0], \"numpy\", numpy.__version__)" 2>&1)"'
echo
echo "== the same command with every runtime (as $(id -un)):"
for runtime in native podman docker charliecloud; do
    printf '%-13s ' "$runtime"
    if ! output=$("$hepstack" run --runtime "$runtime" lat/release -- sh -c "$probe" 2>&1); then
        echo "FAILED: $(echo "$output" | tail -1)"
        continue
    fi
    echo "$output" | tail -1
done
