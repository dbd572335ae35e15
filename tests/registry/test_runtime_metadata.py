"""The environment files hepstack writes into an unpacked image tree stay inside the tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hepstack.errors import HepstackError
from hepstack.registry.convert import write_runtime_metadata


def test_the_image_environment_lands_where_ch_run_and_apptainer_read_it(tmp_path: Path) -> None:
    write_runtime_metadata(tmp_path, ["PATH=/usr/bin", "LAT_RELEASE=1.0 beta"])
    assert (tmp_path / "ch" / "environment").read_text() == "PATH=/usr/bin\nLAT_RELEASE=1.0 beta\n"
    exports = (tmp_path / ".singularity.d" / "env" / "90-environment.sh").read_text()
    assert exports == "#!/bin/sh\nexport PATH=/usr/bin\nexport LAT_RELEASE='1.0 beta'\n"
    assert os.access(tmp_path / ".singularity.d" / "actions" / "exec", os.X_OK)
    assert (tmp_path / "singularity").readlink() == Path(".singularity.d/runscript")


@pytest.mark.parametrize("link", ["ch", ".singularity.d", ".singularity.d/env"])
def test_a_symlink_in_the_image_is_not_written_through(tmp_path: Path, link: str) -> None:
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    (tree / link).parent.mkdir(parents=True)
    outside.mkdir()
    (tree / link).symlink_to(outside)  # an image whose /ch is a symlink to /etc, say
    with pytest.raises(HepstackError, match=f"the image has /{link} as a symlink"):
        write_runtime_metadata(tree, ["A=1"])
    assert list(outside.iterdir()) == []


def test_a_symlinked_file_in_the_image_is_replaced_not_followed(tmp_path: Path) -> None:
    (tmp_path / "ch").mkdir()
    victim = tmp_path / "victim"
    victim.write_text("untouched\n")
    (tmp_path / "ch" / "environment").symlink_to(victim)
    write_runtime_metadata(tmp_path, ["A=1"])
    assert victim.read_text() == "untouched\n"
    assert (tmp_path / "ch" / "environment").read_text() == "A=1\n"
