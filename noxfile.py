"""The development loop, anywhere with Python 3.11 (`pip install nox`, then `nox -s NAME`):

- ``lint``:  ruff check and ruff format --check
- ``types``: mypy --strict
- ``unit``:  the tests that need no container engine, scheduler, server or root (any Linux, any user)
- ``full``:  everything, as CI runs it (scripts/test.sh): needs a host set up by scripts/setup-host.sh
             (as root)
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "types", "unit"]
PATHS = ["src", "tests", "benchmarks", "noxfile.py"]
# what a plain machine lacks: engines, schedulers, the test user, the set-up's servers (their fixtures skip)
NEEDS_A_HOST = (
    "not (podman or rootless or docker or charliecloud or mmdebstrap or slow or slurm or sge or registry"
    " or qemu or root)"
)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.5")
    session.run("ruff", "check", *PATHS)
    session.run("ruff", "format", "--check", *PATHS)


@nox.session
def types(session: nox.Session) -> None:
    session.install("-e", ".[dev]")
    session.run("mypy")


@nox.session
def unit(session: nox.Session) -> None:
    session.install("-e", ".[dev,web]")  # web: Flask and waitress, plain PyPI packages
    session.run("pytest", "-q", "-p", "no:cacheprovider", "-m", NEEDS_A_HOST, *session.posargs)


@nox.session(venv_backend="none")
def full(session: nox.Session) -> None:
    session.run("bash", "scripts/test.sh", *session.posargs, external=True)
