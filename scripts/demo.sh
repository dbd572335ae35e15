#!/usr/bin/env bash
# The main job on the built-in example (README command 1, after set-up):
#   1. build the example stack (podman);
#   2. run one L1 run (3 chunks x 2 crumbs) natively and in the release image with every container
#      runtime that works here, and verify each against native with `hepstack verify`;
#   3. the timing study (art-study I/O exercise) across native and every runtime: Table 2 + report.
set -euo pipefail
cd "$(dirname "$0")/.."
hepstack=$PWD/.venv/bin/hepstack
out=${DEMO_OUT:-$PWD/demo-output}
runtimes=${DEMO_RUNTIMES:-native podman docker charliecloud}
rm -rf "$out" && mkdir -p "$out"

echo "== 1. hepstack build examples/lat/stack.yaml"
"$hepstack" build examples/lat/stack.yaml

echo
echo "== 2. one L1 run with each runtime (events per step, median s/event per module)"
for runtime in $runtimes; do
    echo "-- $runtime"
    if ! HEPSTACK=$hepstack examples/lat/run-l1.sh "$runtime" "$out/l1-$runtime" \
            --run-id 1 --chunks 3 --crumbs 2 --events 3000 --seed 1 > "$out/l1-$runtime.log" 2>&1; then
        echo "FAILED (log: $out/l1-$runtime.log)"; tail -5 "$out/l1-$runtime.log"; continue
    fi
    sed -n '/^step /,$p' "$out/l1-$runtime.log"
done
echo
echo "== verify: data products of each runtime against native"
for runtime in $runtimes; do
    [ "$runtime" = native ] && continue
    [ -d "$out/l1-$runtime/ft1" ] || continue
    for product in raw mc digi recon merit ft1; do
        printf '%-13s %-6s ' "$runtime" "$product"
        "$hepstack" verify "$out/l1-native/$product" "$out/l1-$runtime/$product" | head -1 || true
    done
done

echo
echo "== 3. timing study: native vs $(echo "$runtimes" | sed 's/native //')"
arms="native-again,$(echo "$runtimes" | tr ' ' ',')"  # native-again: the A/A control (see the study file)
"$hepstack" bench examples/lat/studies/art-study.yaml --arms "$arms" --repetitions 3 --events 200 \
    --output "$out/study-artstudy"
