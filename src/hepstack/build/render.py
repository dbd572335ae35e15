"""Render a layer of the spec into Containerfile text.

The rendered text is part of the layer's content key, so it must depend only on the spec: no dates,
no host paths, no secrets. Files that a step needs only while it runs (the host CA bundle, pip
requirement files, local packages) are mounted for that RUN step and never copied into a layer.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from hepstack.quoting import (
    containerfile_json,
    containerfile_line,
    containerfile_string,
    mount_option_value,
)
from hepstack.spec import Stack, local_pip_path

CA_SECRET_ID = "hepstack-ca"
CA_SECRET_PATH = f"/run/secrets/{CA_SECRET_ID}"
PIP_MOUNT_DIR = "/run/hepstack-pip"
LOCKED_REQUIREMENTS = ".hepstack-lock/requirements.txt"  # staged into the build context (locked builds)
LOCKED_REQUIREMENTS_TARGET = "/run/hepstack-lock/requirements.txt"

# Left behind by apt, dpkg, debconf, ldconfig and pip, different on every build (timestamps, inode
# numbers, download order): removed in the same RUN that wrote them, so no layer ever holds them.
# (https://reproducible-builds.org/docs/ and Debian's own image builds, debuerreotype, remove the same.)
VOLATILE_PATHS = (
    "/var/lib/apt/lists/*",
    "/var/cache/apt/*.bin",
    "/var/cache/apt/archives/*.deb",
    "/var/log/apt/*",
    "/var/log/dpkg.log",
    "/var/log/alternatives.log",
    "/var/cache/ldconfig/aux-cache",
    "/var/cache/debconf/*-old",
    "/var/lib/dpkg/*-old",
    "/root/.cache",
)


@dataclass(frozen=True)
class LockedInputs:
    """What a locked build of one layer installs, from ``stack.lock`` (hepstack.release.lockfile).

    ``apt`` is ``name=version`` for each package, ``pip`` the rendered requirement lines with hashes,
    ``epoch`` the lock's SOURCE_DATE_EPOCH and ``header`` the comment that puts the entry into the key.
    """

    header: str
    epoch: int
    entry_digest: str = ""
    apt: tuple[str, ...] = ()
    pip_requirements: str = ""
    local_pip: tuple[str, ...] = ()
    parent_digest: str | None = None  # an external parent, by digest


def profile_path(layer_name: str) -> str:
    """Where a layer's login profile lands: sourced by /etc/profile from /etc/profile.d (Debian)."""
    return f"/etc/profile.d/hepstack-{layer_name}.sh"


def render_containerfile(stack: Stack, name: str, parent_ref: str, locked: LockedInputs | None = None) -> str:
    """Containerfile text for layer ``name`` of ``stack``, built on ``parent_ref``; with ``locked``, the
    exact versions of the lock and the settings that make the layer reproducible."""
    containerfile = stack.containerfiles.get(name)
    if containerfile is not None:
        file_name = containerfile_line(containerfile.path.name, "containerfile")
        header = f"# hepstack: stack {stack.name}, layer {name}, from {file_name} (FROM rewired)\n"
        text = containerfile.rewired(parent_ref)
        if locked is not None:
            header += locked.header + "\n"
            text = _after_each_from(text, _reproducible_arguments(locked))
        return header + text

    layer = stack.layer(name)
    lines = [
        f"# hepstack: stack {stack.name}, layer {name}. Rendered from the stack spec; do not edit.",
        *([locked.header] if locked is not None else []),
        f"FROM {containerfile_line(parent_ref, 'from')}",
        *(_reproducible_arguments(locked) if locked is not None else []),
    ]
    if layer.labels:
        labels = [f"{_string(key)}={_string(value)}" for key, value in sorted(layer.labels.items())]
        lines.append("LABEL " + " \\\n      ".join(labels))
    if layer.env:
        lines.append("ENV " + " \\\n    ".join(f"{key}={_string(value)}" for key, value in layer.env.items()))
    if layer.packages and layer.bootstrap is None:  # a bootstrap layer's packages go in at mmdebstrap time
        lines.append(
            _apt_step(list(locked.apt) if locked is not None else layer.packages, locked is not None)
        )
    if layer.pip:
        pip_step = _pip_step(layer.pip, _local_inputs_digest(stack, layer.pip))
        lines.append(_locked_pip_step(locked) if locked is not None else pip_step)
    for source, target in layer.copy_.items():
        lines.append(f"COPY {containerfile_json([source, target], 'copy')}")
    if layer.profile:
        lines.append(f"COPY {containerfile_json([layer.profile, profile_path(name)], 'profile')}")
    lines.extend(f"RUN {containerfile_line(step, 'run step')}" for step in layer.run)
    if layer.workdir:
        lines.append(f"WORKDIR {containerfile_line(layer.workdir, 'workdir')}")
    if layer.user:
        lines.append(f"USER {containerfile_line(layer.user, 'user')}")
    if layer.entrypoint is not None:
        lines.append(f"ENTRYPOINT {containerfile_json(layer.entrypoint, 'entrypoint')}")
    if layer.cmd is not None:
        lines.append(f"CMD {containerfile_json(layer.cmd, 'cmd')}")
    return "\n".join(lines) + "\n"


def _apt_step(packages: list[str], locked: bool = False) -> str:
    names = " ".join(shlex.quote(containerfile_line(package, "package")) for package in packages)
    cleanup = " ".join(VOLATILE_PATHS) if locked else "/var/lib/apt/lists/*"
    return (
        "RUN apt-get update -qq \\\n"
        " && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
        f"{names} \\\n"
        f" && apt-get clean && rm -rf {cleanup}"
    )


def _reproducible_arguments(locked: LockedInputs) -> list[str]:
    """Build arguments every RUN of a locked layer sees (not kept in the image's environment).

    SOURCE_DATE_EPOCH makes py_compile write checked-hash .pyc files (Python >= 3.7, PEP 552), so pip's,
    dpkg's (py3compile) and compileall's .pyc do not embed the install time; PYTHONHASHSEED=0 makes the
    order of frozenset constants in those .pyc files the same on every build. HEPSTACK_LOCK_ENTRY is an
    instruction, not a comment, so the engine's own step cache (podman --layers) misses when a pin changes:
    it keys steps by their text, never by the content of a bind-mounted requirement file.
    """
    return [
        f"ARG SOURCE_DATE_EPOCH={int(locked.epoch)}",
        "ARG PYTHONHASHSEED=0",
        f"ARG HEPSTACK_LOCK_ENTRY={locked.entry_digest}",
    ]


def _local_inputs_digest(stack: Stack, requirements: list[str]) -> str:
    """sha256 (12 hex) of the local files a pip step mounts, '' when it mounts none. In the RUN text
    because podman's step cache keys a RUN by its text: without it, an edited requirements file left
    podman reusing the old pip step under the new hepstack key (seen while locking)."""
    import hashlib

    from hepstack.build.keys import walk_files

    digest = hashlib.sha256()
    found = False
    for requirement in requirements:
        local = local_pip_path(requirement)
        if local is None:
            continue
        for file in walk_files((stack.directory / local).resolve()):
            found = True
            digest.update(f"{file.relative_to(stack.directory.resolve())}\n".encode())
            if not file.is_symlink():
                digest.update(file.read_bytes())
    return digest.hexdigest()[:12] if found else ""


def _after_each_from(text: str, extra: list[str]) -> str:
    lines: list[str] = []
    for line in text.splitlines():
        lines.append(line)
        if line.lstrip().upper().startswith("FROM "):
            lines.extend(extra)
    return "\n".join(lines) + "\n"


def _locked_pip_step(locked: LockedInputs) -> str:
    """pip with ``--require-hashes --no-deps`` from the lock's requirement file (every distribution the
    layer had, pinned, so no resolution happens), then the spec's local packages, also ``--no-deps``."""
    mounts = [
        f"--mount=type=secret,id={CA_SECRET_ID},target={CA_SECRET_PATH}",
        f"--mount=type=bind,source={LOCKED_REQUIREMENTS},target={LOCKED_REQUIREMENTS_TARGET}",
    ]
    local_targets: list[str] = []
    for index, local in enumerate(locked.local_pip):
        target = f"{PIP_MOUNT_DIR}/{index}"
        mounts.append(f"--mount=type=bind,source={mount_option_value(local, 'pip path')},target={target},rw")
        local_targets.append(target)
    pip = (
        "PIP_BREAK_SYSTEM_PACKAGES=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 "
        "PIP_ROOT_USER_ACTION=ignore python3 -m pip install --no-cache-dir --no-deps"
    )
    steps = [f"{pip} --require-hashes -r {LOCKED_REQUIREMENTS_TARGET}"] if locked.pip_requirements else []
    if local_targets:
        steps.append(f"{pip} {' '.join(local_targets)}")
    steps.append(f"rm -rf {' '.join(VOLATILE_PATHS)}")
    return (
        f"RUN {' '.join(mounts)} \\\n"
        f"    if [ -s {CA_SECRET_PATH} ]; then export PIP_CERT={CA_SECRET_PATH}; fi; \\\n"
        "    " + " \\\n && ".join(steps)
    )


def _pip_step(requirements: list[str], inputs_digest: str = "") -> str:
    """One RUN that pip-installs everything, with the CA bundle and local inputs mounted, not copied.

    PIP_BREAK_SYSTEM_PACKAGES lets pip install into the image's system Python (PEP 668, bookworm);
    older pips (bullseye) ignore it.
    """
    mounts = [f"--mount=type=secret,id={CA_SECRET_ID},target={CA_SECRET_PATH}"]
    arguments: list[str] = []
    for index, requirement in enumerate(requirements):
        containerfile_line(requirement, "pip requirement")
        local = local_pip_path(requirement)
        if local is None:
            arguments.append(shlex.quote(requirement))
            continue
        target = f"{PIP_MOUNT_DIR}/{index}"
        source = mount_option_value(local, "pip path")  # whitespace too is refused by the spec's check
        mounts.append(f"--mount=type=bind,source={source},target={target},rw")
        arguments.append(f"-r {target}" if requirement.startswith("-r ") else target)
    return (
        f"RUN {' '.join(mounts)} \\\n"
        f"    if [ -s {CA_SECRET_PATH} ]; then export PIP_CERT={CA_SECRET_PATH}; fi; \\\n"
        "    PIP_BREAK_SYSTEM_PACKAGES=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 "
        "PIP_ROOT_USER_ACTION=ignore \\\n"
        + (f"    HEPSTACK_PIP_INPUTS={inputs_digest} " if inputs_digest else "    ")
        + f"python3 -m pip install --no-cache-dir {' '.join(arguments)}"
    )


def _string(value: str) -> str:
    return containerfile_string(value, "value")
