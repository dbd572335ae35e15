"""`hepstack run`: resolve IMAGE, build the run request, prepare the runtime, exec its argv."""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import replace
from pathlib import Path

from hepstack import private
from hepstack.catalog.resolve import ResolvedImage, resolve_image
from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.identity import invoking_user
from hepstack.run import plan as launch_plan
from hepstack.runtimes import Bind, RunRequest, Runtime, get_runtime, parse_env
from hepstack.runtimes.secret_files import Secret


def run(
    image_text: str,
    command: list[str],
    *,
    runtime_name: str,
    bind: list[str],
    env: list[str],
    workdir: str | None,
    engine: str | None,
    print_only: bool,
    secret: list[str] | None = None,
) -> None:
    """`hepstack run`, for both the typer command and the fast entry point (hepstack.entry).

    Unless only printing, the resolved command is remembered (hepstack.run.plan), so that the next
    identical run execs it straight away. A run with ``--secret`` never is: its files' owner and mode
    are checked on every run (the fast path leaves ``--secret`` to this full path).
    """
    context = Context.from_environment()
    key = launch_plan.plan_key(image_text, runtime_name, bind, env, workdir, engine)
    chosen = get_runtime(runtime_name)
    binds = [Bind.parse(text) for text in bind]
    secrets = [Secret.parse(text, uid=invoking_user().uid) for text in secret or []]
    # signed before anything is read, so a change while resolving is seen by the next run
    watched = launch_plan.signatures([str(context.catalog_path), launch_plan.PASSWD])
    watched.update({item.source: launch_plan.MUST_EXIST for item in binds})
    resolved = resolve_image(image_text, context, engine=engine)
    if resolved.spec_path is not None:
        watched[resolved.spec_path] = launch_plan.signature(resolved.spec_path)
    request = build_request(
        runtime=chosen,
        image=resolved,
        command=command,
        binds=binds,
        env=parse_env(env),
        workdir=workdir,
        tty=launch_plan.terminal_attached(),
        context=context,
    )
    if secrets:
        request = replace(request, secrets=secrets)
    exec_run(chosen, request, context, print_only=print_only, plan=(key, watched))


def native_layer_environment(image: ResolvedImage, context: Context) -> tuple[dict[str, str], list[str]]:
    """For native runs of a stack layer: the chain's `env` and `profile` scripts, from its spec.

    Reading the spec means YAML and pydantic (~0.3 s), on every native step of a pipeline; the result
    is kept in the cache directory, keyed by the spec's path, size and mtime, so an edit is seen. The
    key is no secret (anyone who can stat the spec computes it), so a cached entry is used only from
    the user's private cache and only if the user wrote it (docs/security.md): its profiles are sourced.
    """
    if image.spec_path is None or image.layer is None:
        return {}, []
    path = Path(image.spec_path)
    try:
        status = path.stat()
    except OSError:
        print(
            f"warning: spec {path} is gone; running natively without the layers' env and profile",
            file=sys.stderr,
        )
        return {}, []
    import hashlib
    import json

    fingerprint = [str(path.resolve()), image.layer, status.st_size, status.st_mtime_ns]
    digest = hashlib.sha256(json.dumps(fingerprint).encode()).hexdigest()[:24]
    cached = context.cache_dir / "native-env" / f"{digest}.json"
    try:
        context.cache_path("native-env")  # UnsafeState, an error, if another user made or can write it
        entry = json.loads(private.read_trusted(str(cached)))
        if entry["fingerprint"] == fingerprint:
            return dict(entry["env"]), list(entry["profiles"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # absent, unreadable, not the user's own, or no cache can be made here: read the spec
    env, profiles = _chain_environment(path, image.layer)
    text = json.dumps({"fingerprint": fingerprint, "env": env, "profiles": profiles})
    with contextlib.suppress(OSError):  # a cache: a full disk only costs the next run the spec's reading
        private.write_atomically(str(cached), text.encode())
    return env, profiles


def _chain_environment(path: Path, layer_name: str) -> tuple[dict[str, str], list[str]]:
    from hepstack.spec import load_stack

    stack = load_stack(path)
    env: dict[str, str] = {}
    profiles: list[str] = []
    for name in stack.chain(layer_name):
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
    context: Context,
) -> RunRequest:
    image_env: dict[str, str] = {}
    profiles: list[str] = []
    if not runtime.in_image:
        image_env, profiles = native_layer_environment(image, context)
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


def exec_run(
    runtime: Runtime,
    request: RunRequest,
    context: Context,
    *,
    print_only: bool,
    plan: tuple[str, dict[str, launch_plan.Signature]],
) -> None:
    """Replace this process with the runtime's command (or print it); remember it under ``plan``'s key."""
    from hepstack.runtimes import shell_line

    if print_only:  # what would really run (ch-run's tree), without converting the image to show it
        print(shell_line(runtime.argv(runtime.preview(request, context))))
        return
    invocation = runtime.command_line(request, context)
    request, argv = invocation.request, invocation.argv
    process_env = runtime.process_env(request)
    files = runtime.plan_files(request) if not request.secrets else None
    if files is not None:
        key, watched = plan
        holds: list[tuple[str, str]] = []
        if request.cache_entry is not None:
            from hepstack.cache_use import use_files

            holds.append(use_files(request.cache_entry))
        launch_plan.remember(
            key, argv, request.command, process_env, {**launch_plan.signatures(files), **watched}, holds
        )
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(argv[0], argv, invocation.environment)
    except OSError as exc:
        raise HepstackError(f"cannot start {argv[0]}: {exc.strerror}", hint=runtime.install_hint) from None
