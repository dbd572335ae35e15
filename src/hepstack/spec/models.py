"""The stack spec: pydantic models for ``stack.yaml``.

A stack is a DAG of layers. A layer is either bootstrapped from a Debian suite, built ``from`` another
layer or an external image, or taken from an existing Containerfile whose FROM hepstack rewires.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from hepstack.names import (
    CONTAINER_USER,
    DEBIAN_ARCHITECTURE,
    DEBIAN_PACKAGE,
    DEBIAN_SUITE,
    ENV_NAME,
    LABEL_KEY,
    NAME,
    NAME_PATTERN,
    NAME_RULE,
    TAG_PATTERN,
    is_image_reference,
)
from hepstack.quoting import argument, check_text, containerfile_line, mount_option_value, reject
from hepstack.spec.validation import checked

MAX_NAME = 63  # stack and layer names are in every image reference and argv: short
DEFAULT_MIRROR = "http://deb.debian.org/debian"
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B)?\s*$", re.IGNORECASE)
MAX_LAYERS = 256  # an image can stack ~127 (overlayfs); a stack of more layers is a generated mistake
MAX_SIZE = 10**15  # 1 PB: far above any image, and exact in the float arithmetic below
_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_size(text: str | int) -> int:
    """Bytes in a size such as ``1GB``, ``500 MiB`` or a plain integer of bytes (1 B to 1 PB)."""
    if isinstance(text, bool):
        raise ValueError(f"not a size: {text!r}; write e.g. 1GB, 750MB or 2GiB")
    if isinstance(text, int):
        size = text
    else:
        match = _SIZE.match(text) if len(text) <= 40 else None  # longer is out of range anyway
        if not match:
            raise ValueError(f"not a size: {text[:40]!r}; write e.g. 1GB, 750MB or 2GiB")
        number, unit = match.groups()
        size = int(float(number) * _UNITS[(unit or "b").lower()])
    if not 1 <= size <= MAX_SIZE:
        raise ValueError(f"size {text!r} is out of range: write 1 byte to 1PB")
    return size


# --- field checks: what each value may hold to reach its Containerfile line unchanged ---------------
# (hepstack.build.render writes each with the one quoting function of its kind, hepstack.quoting)


def _check_parent(text: str) -> None:
    check_text(text, "from")
    if not is_image_reference(text):
        reject(
            text,
            "from",
            "is neither a layer name nor an image reference",
            "name a layer of this stack, or an image such as docker.io/library/debian:bookworm",
        )


def _check_package(name: str) -> None:
    if not DEBIAN_PACKAGE.match(name):
        reject(
            name,
            "package",
            "is not a Debian package name",
            "write a name such as python3-numpy (lower-case), optionally :ARCH and =VERSION or /RELEASE",
        )


def _check_pip(requirement: str) -> None:
    containerfile_line(requirement, "pip requirement")
    if requirement.startswith("-") and not requirement.startswith("-r "):
        reject(
            requirement,
            "pip requirement",
            "is a pip option",
            "write requirements (name, name==1.2, ./local/path) or -r FILE; pip options such as "
            "--index-url belong in a requirements file",
        )
    local = requirement[3:].strip() if requirement.startswith("-r ") else None
    if requirement.startswith(("./", "../")):
        local = requirement
    if local is not None:
        mount_option_value(local, "pip path")  # mounted for the pip step: RUN --mount=...,source=PATH
        if any(character.isspace() for character in local):
            reject(local, "pip path", "contains whitespace", "rename the file or directory")


def _check_user(text: str) -> None:
    if not CONTAINER_USER.match(text):
        reject(text, "user", "is not a user", "write a user name or uid, optionally :group or :gid")


def _check_label_key(key: str) -> None:
    if not LABEL_KEY.match(key):
        reject(key, "label key", "is not a label key", "write e.g. org.opencontainers.image.vendor")


def _check_labels(labels: dict[str, str]) -> None:
    for key, value in labels.items():
        _check_label_key(key)
        check_text(value, f"label {key}")


def _check_arguments(values: list[str]) -> None:
    for value in values:
        argument(value, "argument")


OneLine = Annotated[str, AfterValidator(checked(check_text, "value"))]
Step = Annotated[str, AfterValidator(checked(containerfile_line, "run step"))]
Package = Annotated[str, AfterValidator(checked(_check_package))]
Requirement = Annotated[str, AfterValidator(checked(_check_pip))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Bootstrap(_Strict):
    """A Debian root filesystem made with mmdebstrap and imported into the engine."""

    suite: str = Field(description="Debian suite, e.g. bookworm or the legacy bullseye")
    variant: Literal[
        "extract", "custom", "essential", "apt", "minbase", "buildd", "required", "important", "standard"
    ] = "minbase"
    mirror: str = Field(DEFAULT_MIRROR, description="Debian archive URL")
    architecture: str = "amd64"

    @field_validator("suite")
    @classmethod
    def _suite_name(cls, value: str) -> str:
        if not DEBIAN_SUITE.match(value):
            raise ValueError("a Debian suite name is lower-case letters, e.g. bookworm")
        return value

    @field_validator("architecture")
    @classmethod
    def _architecture_name(cls, value: str) -> str:
        if not DEBIAN_ARCHITECTURE.match(value):
            raise ValueError("a Debian architecture is lower-case letters and digits, e.g. amd64")
        return value

    @field_validator("mirror")
    @classmethod
    def _mirror_url(cls, value: str) -> str:
        check_text(value, "mirror")
        if not re.fullmatch(r"(https?|file)://\S+", value):
            raise ValueError("a mirror is an http://, https:// or file:// URL without spaces")
        return value


class SizeBudget(_Strict):
    """Warn when a layer adds, or an image totals, more than this (the seeds' 'best' size was 1 GB)."""

    layer: str | int = "1GB"
    image: str | int = "1GB"

    @field_validator("layer", "image", mode="before")
    @classmethod
    def _is_size(cls, value: object) -> object:
        if isinstance(value, (str, int)):  # others fail the type check; true/false would pass it as 1/0
            parse_size(value)
        return value

    @property
    def layer_bytes(self) -> int:
        return parse_size(self.layer)

    @property
    def image_bytes(self) -> int:
        return parse_size(self.image)


class Layer(_Strict):
    """One image in the stack."""

    description: str | None = None
    bootstrap: Bootstrap | None = None
    from_: Annotated[str, AfterValidator(checked(_check_parent))] | None = Field(
        None, alias="from", description="parent layer name or external image reference"
    )
    containerfile: OneLine | None = Field(
        None, description="existing Dockerfile; its FROM is rewired to the parent"
    )
    packages: list[Package] = Field(default_factory=list, description="apt packages")
    pip: list[Requirement] = Field(
        default_factory=list,
        description="pip requirements; '-r FILE' and local paths ('./pkg') are mounted for the pip step only",
    )
    copy_: dict[OneLine, OneLine] = Field(
        default_factory=dict, alias="copy", description="SRC (spec dir) -> DST (image)"
    )
    run: list[Step] = Field(default_factory=list, description="shell steps, in order, one line each")
    env: dict[str, OneLine] = Field(default_factory=dict)
    profile: OneLine | None = Field(None, description="script sourced by login shells (/etc/profile.d)")
    labels: Annotated[dict[str, str], AfterValidator(checked(_check_labels))] = Field(default_factory=dict)
    user: Annotated[str, AfterValidator(checked(_check_user))] | None = None
    workdir: Annotated[str, AfterValidator(checked(containerfile_line, "workdir"))] | None = None
    cmd: Annotated[list[str], AfterValidator(checked(_check_arguments))] | None = None
    entrypoint: Annotated[list[str], AfterValidator(checked(_check_arguments))] | None = None
    size_budget: SizeBudget | None = None

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid environment variable name")
        return value

    @field_validator("copy_")
    @classmethod
    def _copy_targets(cls, value: dict[str, str]) -> dict[str, str]:
        for source, target in value.items():
            if not target.startswith("/"):
                raise ValueError(
                    f"copy target for {source!r} must be an absolute path in the image, got {target!r}"
                )
        return value

    @field_validator("workdir")
    @classmethod
    def _absolute_workdir(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("workdir must be an absolute path")
        return value

    @model_validator(mode="after")
    def _one_origin(self) -> Layer:
        if self.bootstrap is not None and self.from_ is not None:
            raise ValueError("a layer has either 'bootstrap' or 'from', not both")
        if self.bootstrap is None and self.from_ is None and self.containerfile is None:
            raise ValueError("a layer needs 'bootstrap', 'from' or 'containerfile'")
        if self.containerfile is not None:
            extra = [name for name in _CONTENT_FIELDS if getattr(self, name)]
            if extra:
                shown = ", ".join(_ALIASES.get(name, name) for name in extra)
                raise ValueError(f"a 'containerfile' layer takes its content from the file; remove: {shown}")
        return self


_CONTENT_FIELDS = (
    "packages",
    "pip",
    "copy_",
    "run",
    "env",
    "profile",
    "user",
    "workdir",
    "cmd",
    "entrypoint",
)
_ALIASES = {"copy_": "copy", "from_": "from"}


class StackSpec(_Strict):
    """A whole stack: its name, release and layers.

    >>> StackSpec.model_validate({"stack": "lat", "release": "1.0",
    ...     "layers": {"base": {"bootstrap": {"suite": "bookworm"}}}}).layers["base"].bootstrap.suite
    'bookworm'
    """

    stack: str = Field(
        pattern=NAME_PATTERN, max_length=MAX_NAME, description="stack name, the image repository prefix"
    )
    release: str = Field(pattern=TAG_PATTERN, description="release tag")
    description: str | None = None
    source: OneLine | None = Field(
        None, description="where the spec lives (URL); org.opencontainers.image.source"
    )
    size_budget: SizeBudget = Field(default_factory=SizeBudget)
    layers: dict[str, Layer] = Field(min_length=1, max_length=MAX_LAYERS)

    @field_validator("layers")
    @classmethod
    def _layer_names(cls, value: dict[str, Layer]) -> dict[str, Layer]:
        for name in value:
            if not NAME.match(name) or len(name) > MAX_NAME:
                raise ValueError(
                    f"layer name {name[:80]!r} must be {NAME_RULE}, {MAX_NAME} characters at most"
                )
        return value

    def budget_for(self, layer: str) -> SizeBudget:
        return self.layers[layer].size_budget or self.size_budget


def json_schema() -> dict[str, object]:
    """The JSON Schema of a stack spec, as printed by ``hepstack schema``."""
    return StackSpec.model_json_schema(by_alias=True)
