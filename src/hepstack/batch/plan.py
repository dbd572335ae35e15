"""From command-line options and a site profile to one :class:`Submission` (all checks, no I/O beyond
reading the site files, the task file and the image catalog)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hepstack.batch.executor import Submission, job_node_cache
from hepstack.batch.schedulers import get_scheduler
from hepstack.batch.spec import Resources
from hepstack.batch.staging import parse_stage_in, parse_stage_out
from hepstack.context import Context
from hepstack.errors import HepstackError
from hepstack.identity import invoking_user
from hepstack.names import job_name
from hepstack.quoting import check_text
from hepstack.runtimes import Bind, get_runtime, parse_env
from hepstack.runtimes.secret_files import Secret

if TYPE_CHECKING:
    from hepstack.catalog.resolve import ResolvedImage


def plan_submission(
    *,
    image: str,
    command: list[str],
    context: Context,
    site: str | None = None,
    scheduler: str | None = None,
    runtime: str | None = None,
    tasks: int | None = None,
    task_file: Path | None = None,
    binds: list[str] | None = None,
    env: list[str] | None = None,
    secrets: list[str] | None = None,
    cpus: int | None = None,
    memory: str | None = None,
    time: str | None = None,
    queue: str | None = None,
    account: str | None = None,
    workdir: str | None = None,
    name: str | None = None,
    stage_in: list[str] | None = None,
    stage_out: list[str] | None = None,
) -> Submission:
    """Command-line values win over the site's; without a site, --scheduler and --runtime are needed."""
    from hepstack.catalog.resolve import resolve_image
    from hepstack.sites import Site, get_site

    chosen: Site | None = get_site(site) if site else None
    profile = chosen.profile if chosen else None
    scheduler_name = scheduler or (profile.scheduler if profile else None)
    runtime_name = runtime or (profile.runtime if profile else None)
    if scheduler_name is None or runtime_name is None:
        raise HepstackError(
            "no scheduler or runtime chosen",
            hint="give --site SITE (see `hepstack sites`) or both --scheduler and --runtime",
        )
    get_scheduler(scheduler_name)  # unknown names fail here, with the known ones
    get_runtime(runtime_name)
    if not command:
        raise HepstackError("no command to run", hint="put the command after --, e.g. -- lat-run digi.yaml")
    if tasks is not None and task_file is not None:
        raise HepstackError("--tasks and --task-file both given", hint="the task file's lines set the count")
    task_lines = _read_task_file(task_file) if task_file is not None else None
    site_resources = profile.resources if profile else None
    resources = Resources(
        cpus=cpus or (site_resources.cpus if site_resources else None),
        memory=memory or (site_resources.memory if site_resources else None),
        time=time or (site_resources.time if site_resources else None),
        queue=queue or (site_resources.queue if site_resources else None),
        account=account or (site_resources.account if site_resources else None),
    )
    resources.check()
    all_binds = (chosen.job_binds() if chosen else []) + [Bind.parse(text) for text in binds or []]
    user = invoking_user()
    given = [Secret.parse(text, uid=user.uid) for text in secrets or []]
    site_secrets = chosen.job_secrets(user.uid, user.home) if chosen else []
    overridden = {secret.name for secret in given}  # --secret NAME=FILE wins over the site's NAME
    all_secrets = [secret for secret in site_secrets if secret.name not in overridden] + given
    environment = dict(profile.env if profile else {})
    environment.update(parse_env(env or []))
    resolved = resolve_image(image, context)
    reference, image_id = resolved.reference, resolved.image_id
    if profile and profile.delivery == "image_root" and profile.image_root and not reference.startswith("/"):
        reference = f"{profile.image_root.rstrip('/')}/{reference}"
    elif profile and profile.delivery == "registry":
        reference, image_id = _registry_reference(resolved, profile.name, context), None
    return Submission(
        scheduler=scheduler_name,
        runtime=runtime_name,
        image=reference,
        image_id=image_id,
        command=command,
        tasks=tasks or 1,
        task_lines=task_lines,
        binds=all_binds,
        secrets=all_secrets,
        env=environment,
        resources=resources,
        directives=list(profile.directives) if profile else [],
        workdir=workdir,
        site=profile.name if profile else None,
        runtime_tool=profile.runtime_tool if profile else None,
        name=job_name(name or f"hepstack-{Path(command[0]).name}"),
        engine=resolved.engine,
        node_cache=job_node_cache(context),
        stage_in=tuple(parse_stage_in(text) for text in stage_in or []),
        stage_out=tuple(parse_stage_out(text) for text in stage_out or []),
    )


def _registry_reference(resolved: ResolvedImage, site: str, context: Context) -> str:
    """What a registry-fed site's nodes pull: ``repository@digest`` of this very build (pushed from
    here or pulled from there), or a reference that already names a registry. Refused before
    anything is submitted when the image exists only in this host's store."""
    from hepstack.catalog import Catalog
    from hepstack.registry.publish import registry_host

    if resolved.stack and resolved.layer and resolved.key:
        found = Catalog(context.catalog_path).registry_copy(resolved.stack, resolved.layer, resolved.key)
        if found is not None:
            return found
    elif registry_host(resolved.reference) not in (None, "localhost"):
        return resolved.reference
    raise HepstackError(
        f"the image {resolved.reference} was never pushed; the nodes of site {site} pull images from "
        "a registry and cannot see this host's store",
        hint="push it (hepstack push SPEC --registry HOST/NAMESPACE) or give the site an image_root "
        "(image_delivery: image_root)",
    )


def _read_task_file(path: Path) -> list[str]:
    """One task per line, as the job's ``sed -n Np`` reads it: lines end at LF only (a CRLF file's CR
    is dropped); a line with another control character (NUL, U+2028, ...) is refused, since Python,
    sed and editors would not agree on where it ends. Blank lines are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HepstackError(
            f"cannot read the task file {path}: {exc.strerror}", hint="one line per task"
        ) from None
    except ValueError:
        raise HepstackError(f"the task file {path} is not UTF-8 text", hint="one line per task") from None
    lines = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        check_text(line, f"{path}:{number}:", hint="one task per line, without control characters")
        if line.strip(" \t"):
            lines.append(line)
    return lines
