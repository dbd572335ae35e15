"""``lat-merge``: merge crumbs into a chunk and chunks into a run.

    lat-merge root -o recon_r000001_c000.root recon_r000001_c000_k00.root recon_r000001_c000_k01.root
    lat-merge fits -o ft1_r000001.fits ft1_r000001_c000.fits ft1_r000001_c001.fits

ROOT: every TTree of the first input is concatenated in input order, basket by basket (memory
stays bounded), and written reproducibly (fixed UUID and timestamps, as in RootOutput).  The
metadata (TObjString keys: calibration, seed) must be the same in every input and is kept.
FITS (FT1): EVENTS rows concatenated, GTIs united (intervals closer than --gti-join seconds,
the gap between two crumbs, are joined), TSTART/TSTOP widened.  Outputs are atomic.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from lat.framework.atomic import StagedOutputs
from lat.framework.errors import InputError, LatError


def merge_root(output: Path, inputs: list[Path], step: int, compression: str, level: int) -> int:
    import uproot

    from lat.io.rootio import (
        compression_for,
        data_branches,
        frozen_uproot_clock,
        read_metadata,
        recreate,
        write_metadata,
    )

    with uproot.open(str(inputs[0])) as first:
        trees = [k for k, cls in first.classnames(cycle=False).items() if cls == "TTree"]
        metadata = read_metadata(first)
    if not trees:
        raise InputError(f"{inputs[0]}: no TTree to merge")
    for path in inputs[1:]:
        with uproot.open(str(path)) as handle:
            other = read_metadata(handle)
        if other != metadata:
            raise InputError(
                f"{path}: metadata {other} differs from {metadata} in {inputs[0]}",
                hint="merge only outputs of the same processing (calibration, seed)",
            )
    total = 0
    with frozen_uproot_clock():
        out = recreate(output, compression_for(compression, level))
        try:
            for tree_name in trees:
                created = False
                for path in inputs:
                    with uproot.open(str(path)) as handle:
                        if tree_name not in handle:
                            raise InputError(f"{path}: no TTree '{tree_name}' (present in {inputs[0].name})")
                        tree = handle[tree_name]
                        names = data_branches(tree)
                        for batch in tree.iterate(names, step_size=step, library="ak", how=dict):
                            if created:
                                out[tree_name].extend(batch)
                            else:
                                out.mktree(tree_name, batch)
                                created = True
                            if tree_name == trees[0]:
                                total += len(next(iter(batch.values())))
            write_metadata(out, metadata)
        finally:
            out.close()
    return total


def merge_fits(output: Path, inputs: list[Path], join: float) -> int:
    import numpy as np
    from astropy.io import fits

    from lat.steps.ft1 import EVENT_COLUMNS, events_hdu, gti_hdu, merge_intervals, write_ft1

    columns: dict[str, list[np.ndarray]] = {name: [] for name, *_ in EVENT_COLUMNS}
    intervals: list[tuple[float, float]] = []
    starts, stops = [], []
    for path in inputs:
        with fits.open(path) as hdus:
            if "EVENTS" not in hdus or "GTI" not in hdus:
                raise InputError(f"{path}: not an FT1 file (needs EVENTS and GTI)")
            events, gti = hdus["EVENTS"], hdus["GTI"]
            for name in columns:
                columns[name].append(np.array(events.data[name]))
            intervals.extend(zip(gti.data["START"].tolist(), gti.data["STOP"].tolist()))
            starts.append(float(events.header["TSTART"]))
            stops.append(float(events.header["TSTOP"]))
    merged = {name: np.concatenate(parts) for name, parts in columns.items()}
    tstart, tstop = min(starts), max(stops)
    write_ft1(
        output, events_hdu(merged, tstart, tstop), gti_hdu(merge_intervals(intervals, join), tstart, tstop)
    )
    return len(merged["TIME"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lat-merge", description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("root", "fits"))
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("inputs", nargs="+")
    parser.add_argument("--step", type=int, default=2000, help="ROOT entries per basket")
    parser.add_argument("--compression", default="zstd")
    parser.add_argument("--compression-level", type=int, default=3)
    parser.add_argument("--gti-join", type=float, default=5.0, help="join GTIs closer than this (s)")
    args = parser.parse_args(argv)
    staged = StagedOutputs()
    try:
        inputs = [Path(p) for p in args.inputs]
        for path in inputs:
            if not path.is_file():
                raise InputError(f"input file '{path}' does not exist")
        target = staged.stage(args.output)
        if args.kind == "root":
            count = merge_root(target, inputs, args.step, args.compression, args.compression_level)
        else:
            count = merge_fits(target, inputs, args.gti_join)
        staged.commit()
    except LatError as exc:
        print(f"lat-merge: error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"lat-merge: hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    finally:
        staged.discard()
    print(f"lat-merge: {args.output}: {count} entries from {len(inputs)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
