"""Shifter (NERSC): ``shifter --image=docker:REPO:TAG`` on images the site's image gateway has pulled.

Syntax from the Shifter documentation (https://github.com/NERSC/shifter, doc/command/shifter.rst and
doc/wlm/slurm.rst; NERSC's user guide https://docs.nersc.gov/development/containers/shifter/):

- ``--image=docker:REPO:TAG``  image type ``docker`` and the specifier, as the gateway knows it;
- ``--volume=SRC:DST[:ro]``    user volume mounts; ``ro`` is a documented flag (src/VolumeMap.c);
- ``--workdir=DIR``            initial working directory inside the container.
- Batch: ``#SBATCH --image=docker:REPO:TAG`` lets the SLURM SPANK plugin set the image up for the whole job,
  and ``shifterimg pull docker:REPO:TAG`` asks the gateway to fetch (or refresh) it first.

Shifter always runs as the invoking user, with the image read-only; there is nothing to add for decision 4.
It passes the job's environment through (it has no clean-environment mode); explicit ``--env`` values are
applied last by the login wrapper, as for every runtime.
"""

from __future__ import annotations

from hepstack import proc
from hepstack.errors import HepstackError
from hepstack.names import is_image_reference
from hepstack.quoting import bash_word, bind_field, shown
from hepstack.runtimes.base import Availability, RunRequest, Runtime, login_command


def shifter_image(image: str) -> str:
    """``docker:REPO:TAG``: Shifter's ``imageType:imageSpecifier`` form (doc/command/shifter.rst).

    Shifter runs only what its image gateway pulled from a registry, so the image must be an OCI
    reference; it then goes into ``#SBATCH --image=`` and the ``shifterimg pull`` line as it is.
    """
    reference = image.removeprefix("docker://").removeprefix("docker:")
    if not is_image_reference(reference):
        raise HepstackError(
            f"Shifter cannot run the image {shown(image)}: it is not a registry reference",
            hint="give the reference the image gateway pulls, e.g. registry.example.org/lat/release:1.0",
        )
    return f"docker:{reference}"


class ShifterRuntime(Runtime):
    name = "shifter"
    tool = "shifter"
    install_hint = (
        "Shifter is a site service (NERSC and similar HPC centres); it cannot be installed per user and is "
        "not in Debian 12 (https://github.com/NERSC/shifter)"
    )
    privilege_model = "setuid-root shifter binary and the site's image gateway (a root service)"
    runs_as_user = "yes: Shifter always runs the job as the invoking user"
    batch_systems = "SLURM through its SPANK plugin (#SBATCH --image=); elsewhere shifter --image per task"
    image_formats = "registry images the gateway pulls and flattens to SquashFS (docker:REPO:TAG)"
    image_caching = "the gateway's image store on the site's shared file system"
    site_install = "Shifter on every node, the image gateway service, the SLURM SPANK plugin"

    def argv(self, request: RunRequest) -> list[str]:
        argv = [proc.which(self.tool) or self.tool, f"--image={shifter_image(request.image)}"]
        for bind in request.mounted_binds():  # --bind's, then --secret's (read-only)
            source, target = bind_field(bind.source, "bind source"), bind_field(bind.target, "bind target")
            argv.append(f"--volume={source}:{target}{':ro' if bind.read_only else ''}")
        if request.workdir:
            argv.append(f"--workdir={request.workdir}")
        return [*argv, *login_command(request)]

    def job_directives(self, request: RunRequest, scheduler: str) -> list[tuple[str, str]]:
        # Only SLURM has the Shifter SPANK plugin (doc/wlm/slurm.rst); other schedulers get --image on argv.
        if scheduler == "slurm":
            return [("--image", shifter_image(request.image))]
        return []

    def job_setup(self, request: RunRequest) -> list[str]:
        # The gateway pulls once per image and skips the download when it already has this digest.
        return [f"shifterimg pull {bash_word(shifter_image(request.image))}"]

    def availability(self) -> Availability:
        if proc.which(self.tool) is None:
            return Availability(False, f"'shifter' not installed ({self.install_hint})")
        if proc.which("shifterimg") is None:
            return Availability(False, "'shifter' found but not 'shifterimg' (the image gateway client)")
        return Availability(True, proc.which(self.tool) or self.tool)
