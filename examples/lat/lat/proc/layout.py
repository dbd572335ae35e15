"""Names of everything a delivery holds and L1 writes, shared by the planners and the native driver.

Delivery (``lat-delivery DIR``)::

    DIR/delivery.json                    the manifest (lat.proc.manifest)
    DIR/raw/raw_r000001_c000.ldf         raw chunks
    DIR/mc/mc_r000001.root               Monte Carlo truth per run

L1 output (``OUT``), the same natively (``lat-l1 delivery``) and in the pipeline::

    OUT/r000001/digi/digi_r000001_c000.root
    OUT/r000001/recon/recon_r000001_c000_k00.root (crumb), recon_r000001_c000.root (chunk), recon_r000001.root
    OUT/r000001/merit/merit_r000001_c000_k00.root (crumb), merit_r000001_c000.root (chunk), merit_r000001.root
    OUT/r000001/ft1/ft1_r000001_c000.fits (chunk, from the chunk's merit), ft1_r000001.fits (run)
    OUT/r000001/timing/<step>_c000[_k00].db        TimeTracker DBs of the lat-run steps
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: A pipeline stream id (hepstack's summary format): also every tag below.
STREAM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: The file extension of each L1 product.
EXTENSIONS = {"digi": "root", "recon": "root", "merit": "root", "ft1": "fits"}
MAX_RUN_ID = 999_999  # run tags have six digits
MAX_CHUNK_ID = 999  # chunk tags have three


def run_tag(run_id: int) -> str:
    """The run's tag: its substream id and the run part of its file names.

    >>> run_tag(1), chunk_tag(0), crumb_tag(2)
    ('r000001', 'c000', 'k02')
    """
    return f"r{run_id:06d}"


def chunk_tag(chunk_id: int) -> str:
    return f"c{chunk_id:03d}"


def crumb_tag(crumb_id: int) -> str:
    return f"k{crumb_id:02d}"


def mc_tag(seed: int) -> str:
    """The tag of an MC production job, from its seed: ``s000005``."""
    return f"s{seed:06d}"


def mc_job_files(out: Path, tag: str) -> dict[str, Path]:
    """What ``lat-mc`` keeps, by product: ``mc_<tag>.root`` (truth), ``digi_``, ``recon_``, ``merit_<tag>``.

    The raw file is an intermediate: it stays in the job's staging directory and goes with it.
    """
    names = {"truth": "mc", "digi": "digi", "recon": "recon", "merit": "merit"}
    return {product: out / f"{name}_{tag}.root" for product, name in names.items()}


def raw_name(run_id: int, chunk_id: int) -> str:
    """The raw chunk's path inside a delivery: ``raw/raw_r000001_c000.ldf``."""
    return f"raw/raw_{run_tag(run_id)}_{chunk_tag(chunk_id)}.ldf"


def truth_name(run_id: int) -> str:
    return f"mc/mc_{run_tag(run_id)}.root"


@dataclass(frozen=True)
class Layout:
    """Where L1 writes under ``out``.

    >>> Layout(Path("/o")).product("merit", 1, 0, 2).as_posix()
    '/o/r000001/merit/merit_r000001_c000_k02.root'
    """

    out: Path

    def run_dir(self, run_id: int) -> Path:
        return self.out / run_tag(run_id)

    def timing_dir(self, run_id: int) -> Path:
        return self.run_dir(run_id) / "timing"

    def product(
        self, product: str, run_id: int, chunk_id: int | None = None, crumb_id: int | None = None
    ) -> Path:
        """A product of a run (both ids None), of a chunk, or of a crumb."""
        tags = [run_tag(run_id)]
        if chunk_id is not None:
            tags.append(chunk_tag(chunk_id))
            if crumb_id is not None:
                tags.append(crumb_tag(crumb_id))
        name = f"{product}_{'_'.join(tags)}.{EXTENSIONS[product]}"
        return self.run_dir(run_id) / product / name
