"""Who invoked hepstack: containers run as this user, never as root unless asked.

Under sudo, the invoking user is the one sudo recorded (SUDO_UID/SUDO_GID), so a rootful engine
still runs the container as that person.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass


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
    if euid == 0 and environment.get("SUDO_UID", "").isdigit():
        uid = int(environment["SUDO_UID"])
        gid = int(environment.get("SUDO_GID", str(uid)))
    try:
        entry = pwd.getpwuid(uid)
        name, home = entry.pw_name, entry.pw_dir
    except KeyError:
        name, home = str(uid), "/"
    return Invoker(uid=uid, gid=gid, name=name, home=home, privileged=euid == 0)
