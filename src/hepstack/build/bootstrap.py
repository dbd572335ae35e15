"""Base layers without a public registry: a Debian root filesystem from mmdebstrap, imported."""

from __future__ import annotations

import hashlib
from pathlib import Path

from hepstack import proc
from hepstack.build.keys import KEY_VERSION
from hepstack.spec.models import Bootstrap

MMDEBSTRAP_HINT = "apt-get install mmdebstrap debian-archive-keyring (or run scripts/setup-host.sh)"


def bootstrap_key(bootstrap: Bootstrap, packages: list[str], epoch: int | None = None) -> str:
    description = (
        f"{KEY_VERSION}\nbootstrap suite={bootstrap.suite} variant={bootstrap.variant} "
        f"mirror={bootstrap.mirror} arch={bootstrap.architecture} include={','.join(packages)}"
    )
    if epoch is not None:  # a locked, reproducible root filesystem (SOURCE_DATE_EPOCH): another image
        description += f" source_date_epoch={epoch} pyc=recompiled-hashseed-0"
    return hashlib.sha256(description.encode()).hexdigest()


# Locked builds: recompile every .pyc with a fixed hash seed before the tarball is written. Debian's
# py3compile (run by dpkg) does not see PYTHONHASHSEED, and on bullseye (Python 3.9) 27 of 930 .pyc files
# then differed between two runs, in the order of frozenset constants (same size, checked-hash headers).
REPRODUCIBLE_PYC_HOOK = (
    'if [ -x "$1/usr/bin/python3" ]; then for d in $(cd "$1" && ls -d usr/lib/python3*); do '
    'PYTHONHASHSEED=0 chroot "$1" python3 -m compileall -q -f --invalidation-mode checked-hash "/$d" '
    ">/dev/null || true; done; fi"  # || true: files Debian does not compile either (python 2 test data)
)


def mmdebstrap_argv(
    bootstrap: Bootstrap, packages: list[str], tarball: Path, *, reproducible: bool = False
) -> list[str]:
    """mmdebstrap writing a tarball; packages go in at bootstrap time (no apt lists left behind).

    Run with SOURCE_DATE_EPOCH in its environment (locked builds), mmdebstrap makes a reproducible
    tarball: clamped mtimes, no logs or caches, a fixed machine-id (mmdebstrap(1), "SOURCE_DATE_EPOCH");
    measured: two bookworm minbase tarballs made 40 s apart are byte-identical."""
    argv = [
        proc.require("mmdebstrap", "a bootstrap layer", MMDEBSTRAP_HINT),
        f"--variant={bootstrap.variant}",
        f"--architectures={bootstrap.architecture}",
        '--aptopt=Acquire::Retries "3";',
        '--aptopt=APT::Install-Recommends "false";',
    ]
    if packages:
        argv.append(f"--include={','.join(packages)}")
    if reproducible:
        argv.append(f"--customize-hook={REPRODUCIBLE_PYC_HOOK}")
    return [*argv, bootstrap.suite, str(tarball), bootstrap.mirror]


def rootfs_containerfile(tarball_name: str) -> str:
    """A root filesystem as a one-layer image, built (not ``import``-ed) so that a locked build's
    ``--timestamp`` fixes its creation time too: ``import`` stamps the image with the time of import."""
    return f"FROM scratch\nADD {tarball_name} /\n"
