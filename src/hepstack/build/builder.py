"""Carry out a build plan with an engine: skip what the engine has, build the rest, record it."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hepstack import proc
from hepstack.build.bootstrap import MMDEBSTRAP_HINT, mmdebstrap_argv, rootfs_containerfile
from hepstack.build.engines import BuildRequest, Engine, ImageInfo
from hepstack.build.keys import walk_files
from hepstack.build.plan import PlannedLayer, image_repository, make_plan
from hepstack.build.render import CA_SECRET_ID, LOCKED_REQUIREMENTS
from hepstack.catalog import Catalog, ImageRecord, now
from hepstack.context import Context
from hepstack.errors import HepstackError, ProcessError
from hepstack.spec import Stack

if TYPE_CHECKING:
    from collections.abc import Mapping

    from hepstack.build.render import LockedInputs

# The host's CA bundle, mounted into pip steps only (docs/host-facts.md: pip in a build fails TLS without it).
CA_BUNDLE_CANDIDATES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


def host_ca_bundle() -> Path | None:
    override = os.environ.get("HEPSTACK_CA_BUNDLE")
    for candidate in ([override] if override else []) + list(CA_BUNDLE_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@dataclass
class BuildEvents:
    """Callbacks the CLI uses to show progress; the library prints nothing."""

    layer_started: Callable[[PlannedLayer], None] = lambda layer: None
    output_line: Callable[[PlannedLayer, str], None] = lambda layer, line: None
    layer_finished: Callable[[PlannedLayer], None] = lambda layer: None


class Builder:
    def __init__(
        self,
        stack: Stack,
        engine: Engine,
        context: Context,
        catalog: Catalog | None = None,
        *,
        locked: Mapping[str, LockedInputs] | None = None,
        extra_labels: Mapping[str, str] | None = None,
        before_build: Callable[[list[PlannedLayer]], None] | None = None,
    ) -> None:
        self.stack = stack
        self.engine = engine
        self.context = context
        self._catalog = catalog
        self._present: dict[str, ImageInfo] = {}
        self.locked = locked  # `build --locked`: each layer's locked versions, rendered reproducibly
        self.extra_labels = dict(extra_labels or {})  # e.g. io.hepstack.lock, the lock's hash
        self.before_build = before_build  # called with the plan before anything is built (lock checks)
        self._revision: str | None = None

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = Catalog(self.context.catalog_path)
        return self._catalog

    def plan(self, selected: list[str] | None = None, *, no_cache: bool = False) -> list[PlannedLayer]:
        """The plan with each layer marked cached (its key is in the engine) or to build."""
        layers = make_plan(self.stack, selected, self.locked)
        self._present = self.inspect(self._inspected_references(layers))
        for layer in layers:
            present = self._present.get(layer.reference(self.stack.name))
            if present is not None and not no_cache:
                layer.status, layer.image_id, layer.size = "cached", present.image_id, present.size
        return layers

    def _inspected_references(self, layers: list[PlannedLayer]) -> list[str]:
        """Each layer's key tag, plus external parents (for what a layer adds to its size)."""
        external = [
            layer.parent_ref for layer in layers if layer.parent_layer is None and not layer.rootfs_ref
        ]
        return [layer.reference(self.stack.name) for layer in layers] + external

    def inspect(self, references: list[str]) -> dict[str, ImageInfo]:
        """Which of ``references`` the engine has: one engine call, whatever the number of layers."""
        if not references:
            return {}
        result = proc.run(self.engine.inspect_images_argv(references), check=False)
        found = self.engine.parse_inspected(result.stdout, references)
        missing_only = any(word in result.stderr.lower() for word in ("no such", "not known"))
        if result.returncode != 0 and not found and not missing_only:
            raise ProcessError(
                result.argv,
                result.returncode,
                result.stderr,
                hint=f"is the {self.engine.name} engine working? try `hepstack doctor`",
            )
        return found

    def build(
        self, selected: list[str] | None = None, *, no_cache: bool = False, events: BuildEvents | None = None
    ) -> list[PlannedLayer]:
        events = events or BuildEvents()
        layers = self.plan(selected, no_cache=no_cache)
        if self.before_build is not None:  # e.g. every pinned version must still be served
            self.before_build(layers)
        by_name = {layer.name: layer for layer in layers}
        for layer in layers:
            events.layer_started(layer)
            started = time.monotonic()
            if layer.status == "build":
                self._build_layer(layer, no_cache=no_cache, events=events)
                layer.seconds = time.monotonic() - started
                self._record(layer)  # at once: a later layer's failure must not lose this build
            events.layer_finished(layer)
        if any(layer.status == "build" for layer in layers):
            self._present = self.inspect(self._inspected_references(layers))
        self._fill_sizes(layers, by_name)
        self._retag_friendly(layers)
        recorded = self.catalog.recorded_keys(self.stack.name, self.engine.name)
        for layer in layers:  # cached layers the catalog does not know yet (e.g. a new catalog)
            if layer.key not in recorded:
                self._record(layer)
        return layers

    # --- one layer --------------------------------------------------------------------------------------

    def _build_layer(self, layer: PlannedLayer, *, no_cache: bool, events: BuildEvents) -> None:
        log_dir = self.context.log_path(self.stack.name)  # private, 0700
        with tempfile.TemporaryDirectory(prefix=f"hepstack-{layer.name}-") as scratch:
            work = Path(scratch)
            if layer.rootfs_ref is not None:
                self._bootstrap(layer, work, log_dir, no_cache=no_cache, events=events)
            context_dir = work / "context"
            stage_context(self.stack, layer, context_dir)
            if layer.locked is not None and layer.locked.pip_requirements:
                requirements = context_dir / LOCKED_REQUIREMENTS
                requirements.parent.mkdir(parents=True, exist_ok=True)
                requirements.write_text(layer.locked.pip_requirements, encoding="utf-8")
            containerfile = work / "Containerfile"
            containerfile.write_text(layer.containerfile, encoding="utf-8")
            secrets: dict[str, Path] = {}
            if layer.needs_ca:
                secrets[CA_SECRET_ID] = host_ca_bundle() or _empty_file(work / "no-ca")
            request = BuildRequest(
                containerfile=containerfile,
                context=context_dir,
                tags=self._tags(layer),
                labels=self._labels(layer),
                secrets=secrets,
                no_cache=no_cache,
                timestamp=layer.locked.epoch if layer.locked is not None else None,
            )
            proc.stream(
                self.engine.build_argv(request),
                env=self.engine.build_env(request),
                on_line=lambda line: events.output_line(layer, line),
                log_file=log_dir / f"{layer.name}-{layer.short_key}.log",
                hint=f"the build of layer '{layer.name}' failed; its Containerfile is shown by "
                f"`hepstack build {self.stack.path} {layer.name} --dry-run --show`",
            )
        built = self.inspect([layer.reference(self.stack.name)]).get(layer.reference(self.stack.name))
        if built is None:
            raise HepstackError(
                f"{self.engine.name} finished building '{layer.name}' but has no image "
                f"{layer.reference(self.stack.name)}"
            )
        layer.image_id, layer.size = built.image_id, built.size

    def _bootstrap(
        self, layer: PlannedLayer, work: Path, log_dir: Path, *, no_cache: bool, events: BuildEvents
    ) -> None:
        assert layer.rootfs_ref is not None
        if not no_cache and self.inspect([layer.rootfs_ref]):
            return
        spec_layer = self.stack.layer(layer.name)
        assert spec_layer.bootstrap is not None
        rootfs = work / "rootfs"
        rootfs.mkdir()
        tarball = rootfs / "rootfs.tar"
        packages = list(layer.locked.apt) if layer.locked is not None else spec_layer.packages
        # PYTHONHASHSEED for whatever Python mmdebstrap's own hooks run; the .pyc that dpkg's py3compile
        # writes never see it and are recompiled by bootstrap.REPRODUCIBLE_PYC_HOOK instead.
        epoch = (
            {"SOURCE_DATE_EPOCH": str(layer.locked.epoch), "PYTHONHASHSEED": "0"}
            if layer.locked is not None
            else None
        )
        proc.stream(
            mmdebstrap_argv(spec_layer.bootstrap, packages, tarball, reproducible=layer.locked is not None),
            env=epoch,
            on_line=lambda line: events.output_line(layer, line),
            log_file=log_dir / f"{layer.name}-rootfs.log",
            hint=f"mmdebstrap could not make {spec_layer.bootstrap.suite}; is the Debian archive "
            f"reachable at {spec_layer.bootstrap.mirror}? ({MMDEBSTRAP_HINT})",
        )
        if layer.locked is None or self.engine.timestamp_option is None:
            proc.run(self.engine.import_argv(tarball, layer.rootfs_ref))
            return
        containerfile = work / "Rootfs.Containerfile"
        containerfile.write_text(rootfs_containerfile(tarball.name), encoding="utf-8")
        request = BuildRequest(
            containerfile, rootfs, [layer.rootfs_ref], {}, {}, no_cache=no_cache, timestamp=layer.locked.epoch
        )
        proc.run(self.engine.build_argv(request), env=self.engine.build_env(request))

    def _tags(self, layer: PlannedLayer) -> list[str]:
        repository = image_repository(self.stack.name, layer.name)
        return [
            layer.reference(self.stack.name),
            f"{repository}:{self.stack.spec.release}",
            f"{repository}:latest",
        ]

    def _labels(self, layer: PlannedLayer) -> dict[str, str]:
        spec = self.stack.spec
        created = now() if layer.locked is None else datetime.fromtimestamp(layer.locked.epoch, UTC)
        labels = {
            "org.opencontainers.image.title": f"{spec.stack}/{layer.name}",
            "org.opencontainers.image.version": spec.release,
            "org.opencontainers.image.created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "org.opencontainers.image.source": spec.source or str(self.stack.path.resolve()),
            "org.opencontainers.image.base.name": layer.parent_ref,
            "io.hepstack.stack": spec.stack,
            "io.hepstack.layer": layer.name,
            "io.hepstack.key": layer.key,
            "io.hepstack.release": spec.release,
        }
        labels.update(self._provenance_labels())
        description = self.stack.layer(layer.name).description
        if description:
            labels["org.opencontainers.image.description"] = description
        return labels

    def _provenance_labels(self) -> dict[str, str]:
        """The spec repository's revision (``-dirty`` with uncommitted changes) and the lock's hash."""
        from hepstack.provenance import git_revision

        if self._revision is None:
            self._revision = git_revision(self.stack.directory) or ""
        labels = {"org.opencontainers.image.revision": self._revision} if self._revision else {}
        return {**labels, **self.extra_labels}

    # --- after the builds -------------------------------------------------------------------------------

    def _fill_sizes(self, layers: list[PlannedLayer], by_name: dict[str, PlannedLayer]) -> None:
        for layer in layers:
            present = self._present.get(layer.reference(self.stack.name))
            if present is not None:
                layer.image_id, layer.size = present.image_id, present.size
        for layer in layers:
            budget = self.stack.spec.budget_for(layer.name)
            added = (layer.size or 0) - self._parent_size(layer, by_name)
            if layer.size is not None and layer.size > budget.image_bytes:
                layer.warnings.append(f"image {human_size(layer.size)} is over the budget of {budget.image}")
            if layer.size is not None and added > budget.layer_bytes:
                layer.warnings.append(f"layer adds {human_size(added)}, over the budget of {budget.layer}")

    def _parent_size(self, layer: PlannedLayer, by_name: dict[str, PlannedLayer]) -> int:
        """Size of what ``layer`` is built on: its parent layer, an external image, or nothing for a
        bootstrap layer (the root filesystem is the layer's own)."""
        if layer.parent_layer is not None:
            return by_name[layer.parent_layer].size or 0
        if layer.rootfs_ref is not None:
            return 0
        external = self._present.get(layer.parent_ref)
        return external.size or 0 if external is not None else 0

    def _retag_friendly(self, layers: list[PlannedLayer]) -> None:
        """Point :<release> and :latest at the current key when an older build still holds them."""
        for layer in layers:
            present = self._present.get(layer.reference(self.stack.name))
            for tag in self._tags(layer)[1:]:
                if present is None or tag not in present.tags:
                    proc.run(self.engine.tag_argv(layer.reference(self.stack.name), tag))

    def _record(self, layer: PlannedLayer) -> None:
        self.catalog.record(
            ImageRecord(
                stack=self.stack.name,
                layer=layer.name,
                release=self.stack.spec.release,
                key=layer.key,
                reference=layer.reference(self.stack.name),
                image_id=layer.image_id,
                size=layer.size or 0,
                engine=self.engine.name,
                built_at=now(),
                seconds=round(layer.seconds, 3),
                spec_path=str(self.stack.path.resolve()),
            )
        )


def stage_context(stack: Stack, layer: PlannedLayer, context_dir: Path) -> None:
    """Copy (never link: a `rw` bind mount may write to it) only what the layer reads into context_dir."""
    containerfile = stack.containerfiles.get(layer.name)
    root = (containerfile.path.parent if containerfile else stack.directory).resolve()
    context_dir.mkdir()
    for top in layer.inputs:
        for file in walk_files(top):
            target = context_dir / file.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            if file.is_symlink():
                target.symlink_to(file.readlink())
            else:
                shutil.copy2(file, target)
        if top.is_dir():
            (context_dir / top.relative_to(root)).mkdir(parents=True, exist_ok=True)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def _empty_file(path: Path) -> Path:
    path.write_bytes(b"")
    return path
