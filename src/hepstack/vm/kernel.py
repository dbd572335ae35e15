"""A Debian kernel for a VM of a given suite: the suite's own ``linux-image-amd64`` and ``busybox-static``.

Taken from the Debian archive with mmdebstrap's ``extract`` variant (download and unpack, verified
against the archive's signed Release file, nothing installed, no root needed), once per suite, and kept in
``CACHE_DIR/vm/kernel/SUITE-ARCH``: the kernel, the modules a VM carries (see
:mod:`hepstack.vm.modules`) with kmod's indexes, and a static busybox for the VM's init. The archive is
``HEPSTACK_VM_MIRROR`` (default deb.debian.org; releases the archive dropped, buster and older, are on
archive.debian.org).
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hepstack import proc
from hepstack.context import Context
from hepstack.errors import HepstackError, ProcessError
from hepstack.names import DEBIAN_SUITE
from hepstack.vm.modules import ModuleGraph
from hepstack.vm.suite import NoKernelForImage

DEFAULT_MIRROR = "http://deb.debian.org/debian"
ARCHITECTURE = "amd64"  # qemu-system-x86_64 boots it; the kernel package is linux-image-amd64
KERNEL_PACKAGES = (f"linux-image-{ARCHITECTURE}", "busybox-static")
MMDEBSTRAP_HINT = "apt-get install mmdebstrap debian-archive-keyring (or run scripts/setup-host.sh)"
KMOD_HINT = "apt-get install kmod (or run scripts/setup-host.sh)"
BUNDLE_FORMAT = 1
_MODULE_LISTS = ("/modules.builtin", "/modules.order", "/modules.builtin.modinfo")


@dataclass(frozen=True)
class KernelBundle:
    """A suite's kernel, its modules and a static busybox, unpacked in a cache entry."""

    root: Path
    suite: str
    release: str  # the kernel's release, e.g. 6.1.0-57-amd64 (its /lib/modules directory)

    @property
    def vmlinuz(self) -> Path:
        return self.root / "vmlinuz"

    @property
    def busybox(self) -> Path:
        return self.root / "busybox"

    @property
    def modules(self) -> Path:
        return self.root / "lib" / "modules" / self.release

    def module_graph(self) -> ModuleGraph:
        return ModuleGraph.parse(
            (self.modules / "modules.dep").read_text(), (self.modules / "modules.builtin").read_text()
        )

    @classmethod
    def load(cls, root: Path) -> KernelBundle:
        record = json.loads((root / "bundle.json").read_text())
        if record.get("format") != BUNDLE_FORMAT:
            raise HepstackError(
                f"{root} is a kernel bundle of another hepstack version",
                hint=f"remove {root} (hepstack fetches it again)",
            )
        return cls(root, record["suite"], record["release"])


def mirror(environment: dict[str, str] | None = None) -> str | None:
    """HEPSTACK_VM_MIRROR, or None: mmdebstrap's default, the suite with its -updates and -security."""
    values = os.environ if environment is None else environment
    return values.get("HEPSTACK_VM_MIRROR") or None


def kernel_bundle(suite: str, context: Context) -> KernelBundle:
    """The kernel bundle of ``suite``, fetched from the archive the first time."""
    from hepstack.registry.cache import NodeCache

    if not DEBIAN_SUITE.match(suite):
        raise NoKernelForImage(f"{suite!r} is not a Debian suite name", hint="e.g. bookworm or bullseye")
    cache = NodeCache(context.cache_path("vm"))
    entry = cache.get("kernel", f"{suite}-{ARCHITECTURE}", lambda scratch: fetch(suite, scratch), suite)
    cache.release()
    return KernelBundle.load(entry)


def mmdebstrap_argv(suite: str, tarball: Path, archive: str | None) -> list[str]:
    return [
        proc.require("mmdebstrap", "a VM's kernel from the Debian archive", MMDEBSTRAP_HINT),
        "--variant=extract",  # download and unpack only: no maintainer script, no root
        "--mode=chrootless" if os.geteuid() else "--mode=root",
        f"--architectures={ARCHITECTURE}",
        '--aptopt=Acquire::Retries "3";',
        f"--include={','.join(KERNEL_PACKAGES)}",
        suite,
        str(tarball),
        *([archive] if archive else []),
    ]


def fetch(suite: str, scratch: Path) -> None:
    """Download the suite's kernel and busybox into ``scratch`` (a new directory) and prepare them."""
    depmod = proc.require("depmod", "indexing a VM kernel's modules", KMOD_HINT)
    archive = mirror()
    scratch.mkdir(parents=True)
    tarball = scratch / "packages.tar"
    try:
        proc.run(mmdebstrap_argv(suite, tarball, archive))
    except ProcessError as exc:
        raise NoKernelForImage(
            f"no kernel for Debian {suite}: mmdebstrap could not get {', '.join(KERNEL_PACKAGES)} "
            f"from {archive or DEFAULT_MIRROR}: {_last_error(exc.stderr)}",
            hint=f"is {suite} a release the archive still carries? buster and older are on "
            "http://archive.debian.org/debian (set HEPSTACK_VM_MIRROR); and is the archive reachable?",
        ) from exc
    try:
        release = _unpack_kernel(tarball, scratch)
    finally:
        tarball.unlink(missing_ok=True)
    modules = scratch / "lib" / "modules" / release
    proc.run([depmod, "--basedir", str(scratch), release])
    graph = ModuleGraph.parse(
        (modules / "modules.dep").read_text(), (modules / "modules.builtin").read_text()
    )
    keep = graph.image_modules()
    for path in graph.dependencies:
        if path not in keep:
            (modules / path).unlink()
    proc.run([depmod, "--basedir", str(scratch), release])
    record = {"format": BUNDLE_FORMAT, "suite": suite, "release": release}
    (scratch / "bundle.json").write_text(json.dumps(record, indent=1) + "\n")


def _last_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("E:", "mmdebstrap: error"))]
    return (errors or lines or ["(no message)"])[0]


def _unpack_kernel(tarball: Path, scratch: Path) -> str:
    """The kernel, its modules and busybox out of mmdebstrap's tarball; returns the kernel release.
    Only regular files under the expected paths are written."""
    kernels: dict[str, tarfile.TarInfo] = {}
    busybox: tarfile.TarInfo | None = None
    with tarfile.open(tarball) as packages:
        for member in packages:
            path = PurePosixPath(member.name.removeprefix("./"))
            if ".." in path.parts or path.is_absolute() or not member.isfile():
                continue
            text = str(path)
            if text.startswith("boot/vmlinuz-"):
                kernels[text.removeprefix("boot/vmlinuz-")] = member
            elif text in ("bin/busybox", "usr/bin/busybox"):
                busybox = member
            else:
                inside = _module_file(text)
                if inside is not None:
                    _write(packages, member, scratch / "lib" / "modules" / inside)
        if not kernels or busybox is None:
            raise NoKernelForImage(
                f"the archive's {' and '.join(KERNEL_PACKAGES)} held no kernel or no busybox",
                hint="check HEPSTACK_VM_MIRROR points at a Debian archive",
            )
        release = max(kernels, key=_release_key)
        _write(packages, kernels[release], scratch / "vmlinuz")
        _write(packages, busybox, scratch / "busybox", mode=0o755)
    if not (scratch / "lib" / "modules" / release / "kernel").is_dir():
        raise NoKernelForImage(f"the kernel package of {release} has no modules", hint="report this")
    return release


def _module_file(path: str) -> str | None:
    """``RELEASE/kernel/...`` (or a modules.builtin* list) for a module path of the package, else None."""
    for prefix in ("lib/modules/", "usr/lib/modules/"):  # trixie's kernel ships /usr/lib/modules
        if path.startswith(prefix):
            inside = path.removeprefix(prefix)
            if "/kernel/" in inside or inside.endswith(_MODULE_LISTS):
                return inside
    return None


def _release_key(release: str) -> list[int]:
    return [int(piece) for piece in release.replace("-", ".").split(".") if piece.isdigit()]


def _write(archive: tarfile.TarFile, member: tarfile.TarInfo, target: Path, mode: int = 0o644) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    stream = archive.extractfile(member)
    assert stream is not None
    with open(target, "xb") as sink:
        shutil.copyfileobj(stream, sink)
    target.chmod(mode)
