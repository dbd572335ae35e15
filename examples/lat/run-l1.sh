#!/usr/bin/env bash
# One run of the L1 chain with one runtime: `examples/lat/run-l1.sh RUNTIME WORKDIR [lat-l1 options]`.
# The driver (lat-l1) runs on the host and starts every step through `hepstack run --runtime RUNTIME
# lat/release`; natively the steps use the native install (install-native.sh). The work directory is
# bound at the same path in the container (image: $LAT_IMAGE, default lat/release), so every step's command line is identical across runtimes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
hepstack=${HEPSTACK:-$here/../../.venv/bin/hepstack}
native=${LAT_NATIVE:-/opt/lat-native}/bin
runtime=${1:?usage: run-l1.sh RUNTIME WORKDIR [lat-l1 options]}
work=${2:?usage: run-l1.sh RUNTIME WORKDIR [lat-l1 options]}
shift 2
mkdir -p "$work"
work=$(cd "$work" && pwd)
"$hepstack" stamp "$work" --runtime "$runtime" --image "${LAT_IMAGE:-lat/release}" >/dev/null  # for verify's evidence
if [ "$runtime" = native ]; then
    prefix="$hepstack run --runtime native --env PATH=$native:/usr/local/bin:/usr/bin:/bin --workdir $work lat/release --"
else
    prefix="$hepstack run --runtime $runtime --bind $work:$work --workdir $work ${LAT_IMAGE:-lat/release} --"
fi
exec "$native/lat-l1" --workdir "$work" --prefix "$prefix" "$@"
