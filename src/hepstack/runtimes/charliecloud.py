"""Charliecloud: ch-run on a directory unpacked from the engine image, cached by image id.

The unpacked tree belongs to the invoking user, so ch-run needs no privileges; it is read-only
inside the container. Mount points for binds are made in the tree beforehand (ch-run cannot create
them in a read-only image).
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

from hepstack import proc
from hepstack.build.engines import get_engine
from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.runtimes.base import Availability, RunRequest, Runtime, login_command

COMPLETE_MARK = ".hepstack-unpacked"


class CharliecloudRuntime(Runtime):
    name = "charliecloud"
    tool = "ch-run"
    install_hint = "apt-get install charliecloud-runtime (or run scripts/setup-host.sh)"

    def argv(self, request: RunRequest) -> list[str]:
        argv = [self.binary(), "--unset-env=*", "--set-env", "--private-tmp"]
        for bind in request.binds:
            if bind.read_only:
                raise HepstackError(
                    f"ch-run cannot bind {bind.source} read-only",
                    hint="Charliecloud binds are read-write; drop ':ro' or use another runtime",
                )
            argv.append(f"--bind={bind.source}:{bind.target}")
        if request.workdir:
            argv.append(f"--cd={request.workdir}")
        return [*argv, request.image, "--", *login_command(request)]

    def process_env(self, request: RunRequest) -> dict[str, str]:
        return {"USER": request.user.name}  # ch-run refuses to start without $USER (host.md)

    def prepare(self, request: RunRequest, context: Context) -> RunRequest:
        directory = unpacked_image(request.image, request.engine, context, image_id=request.image_id)
        for bind in request.binds:
            (directory / bind.target.lstrip("/")).mkdir(parents=True, exist_ok=True)
        if request.workdir:
            (directory / request.workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
        return request.with_image(str(directory))

    def availability(self) -> Availability:
        basic = super().availability()
        if not basic.works:
            return basic
        for knob, bad in (
            ("/proc/sys/user/max_user_namespaces", "0"),
            ("/proc/sys/kernel/unprivileged_userns_clone", "0"),
        ):
            path = Path(knob)
            if path.exists() and path.read_text().strip() == bad:
                return Availability(False, f"user namespaces are off ({knob} = {bad})")
        return basic


def unpacked_image(reference: str, engine_name: str, context: Context, image_id: str | None = None) -> Path:
    """The cached unpacked tree of ``reference``; unpack it once (under a lock, renamed into place)."""
    engine = get_engine(engine_name)
    if image_id is None:
        inspected = proc.run(
            [*engine.inspect_argv(reference)[:-1], "--format", "{{.Id}}", reference],
            hint=f"is {reference} in the {engine_name} store? see `hepstack images`",
        )
        image_id = inspected.stdout.strip()
    cache = context.cache_dir / "charliecloud"
    cache.mkdir(parents=True, exist_ok=True)
    final = cache / image_id.removeprefix("sha256:")
    if (final / COMPLETE_MARK).exists():
        return final
    with (cache / f"{final.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (final / COMPLETE_MARK).exists():  # another process finished while we waited
            return final
        scratch = cache / f"{final.name}.tmp-{os.getpid()}"
        shutil.rmtree(scratch, ignore_errors=True)
        try:
            _unpack(engine_name, reference, scratch)
            shutil.rmtree(final, ignore_errors=True)
            scratch.rename(final)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return final


def _unpack(engine_name: str, reference: str, target: Path) -> None:
    engine = get_engine(engine_name)
    target.mkdir(parents=True)
    container = proc.run(engine.create_argv(reference)).stdout.strip().splitlines()[-1]
    tarball = target.parent / f"{target.name}.tar"
    try:
        proc.run(engine.export_argv(container, tarball))
    finally:
        proc.run(engine.remove_container_argv(container), check=False)
    try:
        # GNU tar strips leading '/' and refuses '..' members; as root it must not keep image owners.
        proc.run(
            [
                "tar",
                "--extract",
                f"--file={tarball}",
                f"--directory={target}",
                "--no-same-owner",
                "--delay-directory-restore",
                "--exclude=./dev/*",
                "--exclude=dev/*",
            ]
        )
        proc.run(["chmod", "-R", "u+rwX", str(target)])  # so the cache can always be evicted
    finally:
        tarball.unlink(missing_ok=True)
    environment = proc.run(
        [
            *engine.inspect_argv(reference)[:-1],
            "--format",
            "{{range .Config.Env}}{{println .}}{{end}}",
            reference,
        ]
    ).stdout
    (target / "ch").mkdir(exist_ok=True)
    (target / "ch" / "environment").write_text(environment.strip() + "\n", encoding="utf-8")
    (target / COMPLETE_MARK).write_text(reference + "\n", encoding="utf-8")
