"""`hepstack run`: resolve IMAGE, build the run request, prepare the runtime, exec its argv."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.identity import invoking_user
from hepstack.runtimes import Bind, RunRequest, Runtime, get_runtime

STACK_LAYER = re.compile(r"^([a-z0-9][a-z0-9_.-]*)/([a-z0-9][a-z0-9_.-]*)$")


@dataclass(frozen=True)
class ResolvedImage:
    reference: str
    engine: str
    image_id: str | None = None
    stack: str | None = None
    layer: str | None = None
    spec_path: str | None = None


def resolve_image(text: str, context: Context, engine: str | None = None) -> ResolvedImage:
    """``STACK/LAYER`` -> the newest catalog build of that layer; anything else is an engine reference."""
    match = STACK_LAYER.match(text)
    if match:
        from hepstack.catalog import Catalog

        record = Catalog(context.catalog_path).newest(match[1], match[2], engine=engine)
        if record is not None:
            return ResolvedImage(
                record.reference, record.engine, record.image_id, record.stack, record.layer, record.spec_path
            )
        if match[1] != "localhost" and "." not in match[1]:
            raise HepstackError(
                f"no build of {text} in the catalog ({context.catalog_path})",
                hint=f"build it first: hepstack build STACK.yaml {match[2]}; "
                "or give an engine reference such as localhost/lat/release:latest",
            )
    return ResolvedImage(text, engine or "podman")


def native_layer_environment(image: ResolvedImage) -> tuple[dict[str, str], list[str]]:
    """For native runs of a stack layer: the chain's `env` and `profile` scripts, from its spec."""
    if image.spec_path is None or image.layer is None:
        return {}, []
    from hepstack.spec import load_stack

    path = Path(image.spec_path)
    if not path.is_file():
        print(
            f"warning: spec {path} is gone; running natively without the layers' env and profile",
            file=sys.stderr,
        )
        return {}, []
    stack = load_stack(path)
    env: dict[str, str] = {}
    profiles: list[str] = []
    for name in stack.chain(image.layer):
        layer = stack.layer(name)
        env.update(layer.env)
        if layer.profile:
            profiles.append(str((stack.directory / layer.profile).resolve()))
    return env, profiles


def build_request(
    *,
    runtime: Runtime,
    image: ResolvedImage,
    command: list[str],
    binds: list[Bind],
    env: dict[str, str],
    workdir: str | None,
    tty: bool,
) -> RunRequest:
    image_env: dict[str, str] = {}
    profiles: list[str] = []
    if runtime.name == "native":
        image_env, profiles = native_layer_environment(image)
    return RunRequest(
        image=image.reference,
        command=command,
        user=invoking_user(),
        binds=binds,
        env=env,
        workdir=workdir,
        tty=tty,
        image_env=image_env,
        profiles=profiles,
        image_id=image.image_id,
        engine=image.engine,
    )


def exec_run(runtime_name: str, request: RunRequest, context: Context, *, print_only: bool) -> None:
    """Replace this process with the runtime's command (or print it)."""
    from hepstack.runtimes import shell_line

    runtime = get_runtime(runtime_name)
    request = runtime.prepare(request, context)  # so --print shows what would really run (ch-run's tree)
    argv = runtime.argv(request)
    if print_only:
        print(shell_line(argv))
        return
    environment = dict(os.environ)
    environment.update(runtime.process_env(request))
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(argv[0], argv, environment)
    except OSError as exc:
        raise HepstackError(f"cannot start {argv[0]}: {exc.strerror}", hint=runtime.install_hint) from None
