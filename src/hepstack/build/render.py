"""Render a layer of the spec into Containerfile text.

The rendered text is part of the layer's content key, so it must depend only on the spec: no dates,
no host paths, no secrets. Files that a step needs only while it runs (the host CA bundle, pip
requirement files, local packages) are mounted for that RUN step and never copied into a layer.
"""

from __future__ import annotations

import shlex

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


def profile_path(layer_name: str) -> str:
    """Where a layer's login profile lands: sourced by /etc/profile from /etc/profile.d (Debian)."""
    return f"/etc/profile.d/hepstack-{layer_name}.sh"


def render_containerfile(stack: Stack, name: str, parent_ref: str) -> str:
    """Containerfile text for layer ``name`` of ``stack``, built on ``parent_ref``."""
    containerfile = stack.containerfiles.get(name)
    if containerfile is not None:
        file_name = containerfile_line(containerfile.path.name, "containerfile")
        header = f"# hepstack: stack {stack.name}, layer {name}, from {file_name} (FROM rewired)\n"
        return header + containerfile.rewired(parent_ref)

    layer = stack.layer(name)
    lines = [
        f"# hepstack: stack {stack.name}, layer {name}. Rendered from the stack spec; do not edit.",
        f"FROM {containerfile_line(parent_ref, 'from')}",
    ]
    if layer.labels:
        labels = [f"{_string(key)}={_string(value)}" for key, value in sorted(layer.labels.items())]
        lines.append("LABEL " + " \\\n      ".join(labels))
    if layer.env:
        lines.append("ENV " + " \\\n    ".join(f"{key}={_string(value)}" for key, value in layer.env.items()))
    if layer.packages and layer.bootstrap is None:  # a bootstrap layer's packages go in at mmdebstrap time
        lines.append(_apt_step(layer.packages))
    if layer.pip:
        lines.append(_pip_step(layer.pip))
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


def _apt_step(packages: list[str]) -> str:
    names = " ".join(shlex.quote(containerfile_line(package, "package")) for package in packages)
    return (
        "RUN apt-get update -qq \\\n"
        " && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
        f"{names} \\\n"
        " && apt-get clean && rm -rf /var/lib/apt/lists/*"
    )


def _pip_step(requirements: list[str]) -> str:
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
        f"    python3 -m pip install --no-cache-dir {' '.join(arguments)}"
    )


def _string(value: str) -> str:
    return containerfile_string(value, "value")
