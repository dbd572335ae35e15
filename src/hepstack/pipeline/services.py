"""A job step's site services: its secrets, its xrootd staging, and the metadata it records.

``secrets: {NAME: FILE}`` (a step's, else the defaults', added to the site's and replacing a site secret of
the same NAME) binds FILE at /run/secrets/NAME, as ``hepstack submit --secret`` does; the file is checked
(the user's, mode 0600) when the instance is planned and again on the node. ``stage_in: [URL=PATH]`` and
``stage_out: [PATH=URL]`` are ``--stage-in`` / ``--stage-out`` with ``${VAR}``: filled from the instance's
variables, then parsed by the same functions (batch/staging.py), so the same grammar holds. A staged-out
PATH must be a declared output: the catalog then records the URL with the size and sha256 the job measured
(the server verified the copy's adler32). ``metadata: [KEY]`` reads those TObjString keys of the step's
ROOT outputs after success (how recon's calibration version reaches the provenance).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from hepstack.batch.staging import STAGING_EXIT_CODE, Transfer, parse_stage_in, parse_stage_out
from hepstack.errors import HepstackError, SpecError
from hepstack.identity import invoking_user
from hepstack.pipeline.model import Defaults, Step
from hepstack.pipeline.template import fill, references
from hepstack.runtimes.secret_files import Secret, check_secret_name
from hepstack.spec.source_map import SourceMap

Location = tuple[str | int, ...]


def _stage_out_local(text: str) -> str:
    return text.rpartition("=")[0]


def check_services(spec: Step, defaults: Defaults, source: SourceMap, location: Location) -> list[SpecError]:
    """At ``check``: secret names, staging entries without variables, and every stage-out's PATH a
    declared output (by its text: ``${OUT}`` is the output ``${OUT}``)."""
    errors: list[SpecError] = []
    own_secrets = spec.secrets is not None
    for name in spec.secrets if spec.secrets is not None else defaults.secrets:
        try:
            check_secret_name(name)
        except HepstackError as exc:
            where = (*location, "secrets", name) if own_secrets else ("defaults", "secrets", name)
            errors.append(source.error(where, exc.message, hint=exc.hint))
    declared = set(spec.outputs.values())
    for key, parse in (("stage_in", parse_stage_in), ("stage_out", parse_stage_out)):
        own = getattr(spec, key)
        where_base = (*location, key) if own is not None else ("defaults", key)
        for index, text in enumerate(own if own is not None else getattr(defaults, key)):
            if not references(text):
                try:
                    parse(text)
                except HepstackError as exc:
                    errors.append(source.error((*where_base, index), exc.message, value=text, hint=exc.hint))
                    continue
            if key == "stage_out" and _stage_out_local(text) not in declared:
                errors.append(
                    source.error(
                        (*where_base, index),
                        "stages out a file that is not a declared output",
                        value=text,
                        hint="declare it under `outputs:`, written as here: its sha256 is recorded",
                    )
                )
    return errors


def step_secrets(
    spec: Step, defaults: Defaults, site_secrets: Mapping[str, str], scalars: Mapping[str, str]
) -> list[Secret]:
    """The site's secrets, then the step's (or the defaults'), which replace a site secret of their NAME;
    every file checked now (the invoking user's, 0600). ``~/`` is the invoking user's home."""
    own = spec.secrets if spec.secrets is not None else defaults.secrets
    merged = {**site_secrets, **{name: fill(path, scalars) for name, path in own.items()}}
    user = invoking_user()
    return [Secret.from_site(name, path, uid=user.uid, home=user.home) for name, path in merged.items()]


def step_transfers(
    spec: Step, defaults: Defaults, scalars: Mapping[str, str], outputs: Mapping[str, str]
) -> tuple[tuple[Transfer, ...], tuple[Transfer, ...]]:
    """The instance's stage-in and stage-out, filled and parsed (a bad value: HepstackError)."""
    ins = spec.stage_in if spec.stage_in is not None else defaults.stage_in
    outs = spec.stage_out if spec.stage_out is not None else defaults.stage_out
    stage_in = tuple(parse_stage_in(fill(text, scalars)) for text in ins)
    stage_out = tuple(parse_stage_out(fill(text, scalars)) for text in outs)
    declared = set(outputs.values())
    for transfer in stage_out:
        if transfer.local not in declared:
            raise HepstackError(
                f"stage-out of {transfer.local}: not a declared output of the step",
                hint="declare it under `outputs:`",
            )
    return stage_in, stage_out


def staging_functions(jobdir: str) -> str:
    """staging.tmpl for a pipeline task: the same functions ``hepstack submit`` writes."""
    from hepstack.batch.script import fill as fill_template

    return fill_template(
        "staging.tmpl",
        {
            "jobdir": jobdir,
            "staging_code": str(STAGING_EXIT_CODE),
            "xrootd_client": '"$@"',
            "xrootd_client_where": "on the node (the host's xrdcp, xrdfs, xrdadler32)",
        },
    )


def root_metadata(path: Path, keys: list[str]) -> dict[str, str]:
    """The TObjString keys ``keys`` at the top of the ROOT file ``path`` (absent keys left out); a file
    that is not ROOT, or unreadable, gives nothing: metadata is a record, not a check."""
    if not keys or path.suffix != ".root":
        return {}
    import uproot

    try:
        with uproot.open(path) as handle:
            names = {k for k, cls in handle.classnames(cycle=False).items() if cls == "TObjString"}
            return {key: str(handle[key]) for key in keys if key in names}
    except (OSError, ValueError, KeyError):
        return {}


Measured = tuple[str, str, int, str]  # an output's name, path, size, sha256
Fact = tuple[str, str, str]  # kind, name, value: a row of pipeline_instance_facts


def service_facts(
    spec: Step, defaults: Defaults, scalars: Mapping[str, str], outputs: list[Measured]
) -> tuple[list[Measured], list[Fact]]:
    """For an instance that succeeded: each staged-out output again under its URL (the same size and
    sha256: the server verified the copy's adler32), and the facts to record: the URL of every file
    staged in and out, and the ``metadata`` keys of its ROOT outputs."""
    if spec.script is not None:
        return [], []
    by_path = {path: (name, size, sha) for name, path, size, sha in outputs}
    try:
        stage_in, stage_out = step_transfers(spec, defaults, scalars, {n: p for n, p, *_ in outputs})
    except HepstackError:
        stage_in, stage_out = (), ()  # planned without error, so the definition changed: record nothing
    facts: list[Fact] = [("staged-in", t.local, t.url) for t in stage_in]
    staged: list[Measured] = []
    for transfer in stage_out:
        name, size, sha = by_path[transfer.local]
        staged.append((name, transfer.url, size, sha))
        facts.append(("staged-out", transfer.local, transfer.url))
    for name, path, _size, _sha in outputs:
        for key, value in root_metadata(Path(path), spec.metadata).items():
            facts.append(("metadata", f"{name}:{key}", value))
    return staged, facts
