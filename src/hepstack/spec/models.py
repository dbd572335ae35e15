"""The stack spec: pydantic models for ``stack.yaml``.

A stack is a DAG of layers. A layer is either bootstrapped from a Debian suite, built ``from`` another
layer or an external image, or taken from an existing Containerfile whose FROM hepstack rewires.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hepstack.names import ENV_NAME

NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"  # one OCI repository path component (short: it is in argv)
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
        if not re.fullmatch(r"[a-z][a-z0-9-]*", value):
            raise ValueError("a Debian suite name is lower-case letters, e.g. bookworm")
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
    from_: str | None = Field(None, alias="from", description="parent layer name or external image reference")
    containerfile: str | None = Field(
        None, description="existing Dockerfile; its FROM is rewired to the parent"
    )
    packages: list[str] = Field(default_factory=list, description="apt packages")
    pip: list[str] = Field(
        default_factory=list,
        description="pip requirements; '-r FILE' and local paths ('./pkg') are mounted for the pip step only",
    )
    copy_: dict[str, str] = Field(
        default_factory=dict, alias="copy", description="SRC (spec dir) -> DST (image)"
    )
    run: list[str] = Field(default_factory=list, description="shell steps, in order")
    env: dict[str, str] = Field(default_factory=dict)
    profile: str | None = Field(None, description="script sourced by login shells (/etc/profile.d)")
    labels: dict[str, str] = Field(default_factory=dict)
    user: str | None = None
    workdir: str | None = None
    cmd: list[str] | None = None
    entrypoint: list[str] | None = None
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

    stack: str = Field(pattern=NAME_PATTERN, description="stack name, the image repository prefix")
    release: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", description="release tag")
    description: str | None = None
    source: str | None = Field(
        None, description="where the spec lives (URL); org.opencontainers.image.source"
    )
    size_budget: SizeBudget = Field(default_factory=SizeBudget)
    layers: dict[str, Layer] = Field(min_length=1, max_length=MAX_LAYERS)

    @field_validator("layers")
    @classmethod
    def _layer_names(cls, value: dict[str, Layer]) -> dict[str, Layer]:
        for name in value:
            if not re.fullmatch(NAME_PATTERN, name):
                raise ValueError(f"layer name {name!r} must be lower-case letters, digits, '.', '_' or '-'")
        return value

    def budget_for(self, layer: str) -> SizeBudget:
        return self.layers[layer].size_budget or self.size_budget


def json_schema() -> dict[str, object]:
    """The JSON Schema of a stack spec, as printed by ``hepstack schema``."""
    return StackSpec.model_json_schema(by_alias=True)
