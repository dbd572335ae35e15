"""Secrets: a file of the user's (a password, a database option file) that a job reads at run time.

``--secret NAME=FILE`` (``hepstack run`` and ``submit``) and a site's ``secrets:`` make FILE visible to
the job as ``/run/secrets/NAME``, a read-only bind of that one file (Charliecloud: read-write, ch-run
has no read-only bind), and set ``HEPSTACK_SECRET_<NAME>`` to the path the job sees: ``/run/secrets/NAME``
in a container, FILE itself natively (there is no mount namespace to put it elsewhere). Only the path
travels: the content never enters an image layer, an argv, an environment, a job script, a log or
hepstack's state (docs/site-services.md). FILE must be a regular file of the invoking user's with no
permission for group or others (mode 0600 or 0400), checked before every use, as ssh checks its keys.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

from hepstack.errors import HepstackError
from hepstack.names import SECRET_NAME, SECRET_NAME_RULE
from hepstack.quoting import check_text, reject, shown

SECRETS_DIR = "/run/secrets"
VARIABLE_PREFIX = "HEPSTACK_SECRET_"
SECRET_HINT = "write NAME=FILE, e.g. --secret calibdb=$HOME/.config/lat/calibdb.cnf"


def secret_variable(name: str) -> str:
    """The variable that holds the path of secret ``name`` in the job: HEPSTACK_SECRET_CALIBDB."""
    return VARIABLE_PREFIX + name.upper()


def check_secret_name(name: str) -> str:
    if not SECRET_NAME.match(name):
        reject(name, "secret name", "is not a secret name", f"use {SECRET_NAME_RULE}")
    return name


@dataclass(frozen=True)
class Secret:
    """Secret ``name``, read from the host file ``source`` (absolute, symlinks resolved)."""

    name: str
    source: str

    def __post_init__(self) -> None:
        check_secret_name(self.name)
        check_text(self.source, "secret file")
        if not self.source.startswith("/"):
            reject(self.source, "secret file", "is not an absolute path", "give the file's absolute path")
        for character in ":,":  # SRC:DST bind fields and mount options cannot carry them
            if character in self.source:
                reject(self.source, "secret file", f"contains {character!r}", "move or rename the file")

    @classmethod
    def parse(cls, text: str, *, uid: int) -> Secret:
        """``NAME=FILE`` from the command line; FILE is checked (:func:`check_secret_file`)."""
        check_text(text, "--secret", hint=SECRET_HINT)
        name, sep, path = text.partition("=")
        if not sep or not path:
            raise HepstackError(f"bad --secret {shown(text)}", hint=SECRET_HINT)
        check_secret_name(name)
        return cls(name, check_secret_file(path, uid=uid))

    @classmethod
    def from_site(cls, name: str, path: str, *, uid: int, home: str) -> Secret:
        """A site's ``NAME: FILE``; ``~/`` in FILE is the submitting user's home (not $HOME: sudo)."""
        check_secret_name(name)
        if path.startswith("~/"):
            path = str(Path(home) / path[2:])
        return cls(name, check_secret_file(path, uid=uid))

    @property
    def target(self) -> str:
        """Where the job finds the file in a container."""
        return f"{SECRETS_DIR}/{self.name}"


def check_secret_file(path: str, *, uid: int) -> str:
    """``path`` resolved, if it is a regular file owned by ``uid`` that group and others cannot read or
    write; otherwise an error naming the file (and its mode), with the fix as the hint."""
    check_text(path, "secret file")
    absolute = str(Path(path).absolute())
    try:
        resolved = Path(absolute).resolve(strict=True)
        status = resolved.stat()
    except OSError as exc:
        raise HepstackError(
            f"cannot use the secret file {absolute}: {exc.strerror}",
            hint="give a file that exists, e.g. printf '%s\\n' PASSWORD > FILE && chmod 600 FILE",
        ) from None
    mode = stat.S_IMODE(status.st_mode)
    if not stat.S_ISREG(status.st_mode):
        raise HepstackError(
            f"the secret file {absolute} is not a regular file",
            hint="give a plain file (not a directory, device or FIFO) with mode 0600",
        )
    if status.st_uid != uid:
        raise HepstackError(
            f"the secret file {absolute} belongs to uid {status.st_uid}, not to you (uid {uid})",
            hint=f"copy it to a file of your own: install -m 600 {absolute} ~/{Path(absolute).name}",
        )
    if mode & 0o077:
        raise HepstackError(
            f"the secret file {absolute} has mode {mode:04o}: group or others may read or change it",
            hint=f"chmod 600 {absolute}",
        )
    return str(resolved)
