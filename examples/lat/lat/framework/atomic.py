"""All-or-nothing output files.

Every output of a job is first written inside a hidden staging directory next to its final
location (``DIR/.lat-staging-XXXXXXXX/<final name>``, unique per job: not named after the process id,
which two containers started side by side can share), so the file already carries its final base
name (ROOT files embed it), and is renamed into place only when the whole job succeeded.
On failure the staging directories are removed: no partial output is ever left behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


class StagedOutputs:
    """Stage output paths and commit or discard them together.

    >>> import tempfile; d = Path(tempfile.mkdtemp()); staged = StagedOutputs()
    >>> p = staged.stage(d / "out.txt"); _ = p.write_text("x"); staged.commit()
    >>> (d / "out.txt").read_text()
    'x'
    """

    def __init__(self) -> None:
        self._staged: dict[Path, Path] = {}
        self._staging_dirs: dict[Path, Path] = {}  # output directory -> this job's staging directory

    def stage(self, final_path: str | os.PathLike[str]) -> Path:
        final = Path(final_path).absolute()
        if final in self._staged:
            raise ValueError(f"output {final} is written twice in one job")
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = self._staging_dirs.get(final.parent)
        if staging is None:
            staging = Path(tempfile.mkdtemp(prefix=".lat-staging-", dir=final.parent))
            self._staging_dirs[final.parent] = staging
        temp = staging / final.name
        self._staged[final] = temp
        return temp

    def commit(self) -> list[Path]:
        committed = []
        for final, temp in self._staged.items():
            if temp.exists():
                temp.replace(final)
                committed.append(final)
        self._staged.clear()
        self.discard()
        return committed

    def discard(self) -> None:
        self._staged.clear()
        for staging in self._staging_dirs.values():
            shutil.rmtree(staging, ignore_errors=True)
        self._staging_dirs.clear()
