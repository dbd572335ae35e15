"""Who invoked hepstack: containers run as this user, never as root unless asked.

Under sudo, the invoking user is the one sudo recorded (SUDO_UID/SUDO_GID), so a rootful engine
still runs the container as that person.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass

from hepstack.errors import HepstackError


@dataclass(frozen=True)
class Invoker:
    uid: int
    gid: int
    name: str
    home: str
    privileged: bool  # hepstack itself runs as root (rootful engines), whoever the invoker is

    @property
    def user_group(self) -> str:
        return f"{self.uid}:{self.gid}"


def invoking_user(environment: Mapping[str, str] | None = None) -> Invoker:
    environment = os.environ if environment is None else environment
    euid = os.geteuid()
    uid, gid = euid, os.getegid()
    sudo_uid = _sudo_id(environment, "SUDO_UID") if euid == 0 else None
    if sudo_uid is not None:
        uid = sudo_uid
        sudo_gid = _sudo_id(environment, "SUDO_GID")
        gid = _primary_group(uid) if sudo_gid is None else sudo_gid
    try:
        entry = pwd.getpwuid(uid)
        name, home = entry.pw_name, entry.pw_dir
    except KeyError:
        name, home = str(uid), "/"
    return Invoker(uid=uid, gid=gid, name=name, home=home, privileged=euid == 0)


MAX_ID = 2**32 - 2  # uid_t and gid_t are 32 bits; (uid_t) -1 means "no change" to the kernel


def _sudo_id(environment: Mapping[str, str], variable: str) -> int | None:
    """A uid or gid sudo recorded, or None if unset; anything but a decimal id is an error, never a
    traceback or a container run as someone else."""
    text = environment.get(variable)
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_ID:
        kind = "user" if variable == "SUDO_UID" else "group"
        raise HepstackError(
            f"{variable}={text!r} is not a {kind} id: hepstack runs containers as the user sudo recorded",
            hint=f"sudo sets {variable} to a number (0 to {MAX_ID}); unset it, or run hepstack through sudo",
        )
    return int(text)


def _primary_group(uid: int) -> int:
    try:
        return pwd.getpwuid(uid).pw_gid
    except KeyError:
        return uid
