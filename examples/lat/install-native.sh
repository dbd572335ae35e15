#!/usr/bin/env bash
# Install the example release natively (the baseline of the timing study): a virtual environment with
# exactly the pins the images use, at /opt/lat-native (or $1), a fixed path as a site install would have. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${1:-/opt/lat-native}
if [ ! -x "$venv/bin/python" ]; then
    /usr/bin/python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -r "$here/requirements.txt"
"$venv/bin/python" -m pip install -q --no-deps "$here"
# The example's own test runner (scripts/test.sh), and mpmath: exact references for its accuracy tests
"$venv/bin/python" -m pip install -q pytest mpmath==1.3.0
# The Galactic diffuse cube (465 MB) is generated where it is installed, not shipped; the same bytes as in
# the images (tools/make_diffuse_cube.py uses no libm). The source tree gets a link, for runs from it.
data=$("$venv/bin/python" -c 'import lat, pathlib; print(pathlib.Path(lat.__file__).parent / "data")')
"$venv/bin/python" "$here/tools/make_diffuse_cube.py" "$data/gll_iem_toy.fits"
ln -sfn "$data/gll_iem_toy.fits" "$here/lat/data/gll_iem_toy.fits"
chmod -R a+rX "$venv"
echo "native release: $venv/bin (lat-run, lat-l1, lat-merge, lat-config, lat-delivery, lat-mc)"
