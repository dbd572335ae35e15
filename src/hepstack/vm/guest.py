"""What a layer's root filesystem gains to boot as a VM: an init, DHCP, the developer account, the
layer's environment, the kernel's modules.

Everything is written into a *stage*: a tree of hard links to the node cache's unpacked image (see
:mod:`hepstack.vm.disk`). So no file is ever written in place: each is written under a new name and
renamed over its link (:func:`hepstack.private.write_atomically`), which leaves the cached image as it
was. Paths are resolved inside the stage (an image's ``/lib`` is a symlink to ``usr/lib``; a symlink to
an absolute path means the image's path, never the host's).
"""

from __future__ import annotations

import functools
import re
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from hepstack import proc
from hepstack.errors import HepstackError
from hepstack.identity import Invoker
from hepstack.names import ENV_NAME
from hepstack.private import write_atomically
from hepstack.quoting import bash_word, check_text
from hepstack.vm.kernel import KernelBundle
from hepstack.vm.suite import tree_path

VM_DIRECTORY = "/usr/lib/hepstack-vm"
INIT = f"{VM_DIRECTORY}/init"
# Leftovers of the node cache's tree: ch-run's and Apptainer's environment files, the unpack mark.
CONTAINER_METADATA = ("ch", ".singularity.d", "singularity", ".hepstack-unpacked")
# passwd(5) names: what useradd accepts (letters, digits, '_', '.', '-'; a trailing '$' for machines).
_ACCOUNT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?\Z")
_TEMPLATE_KEY = re.compile(r"\{\{(\w+)\}\}")


@dataclass(frozen=True)
class Account:
    """The developer account of the VM: the invoking user's name, uid and gid."""

    name: str
    uid: int
    gid: int

    @property
    def home(self) -> str:
        return "/root" if self.uid == 0 else f"/home/{self.name}"

    @classmethod
    def of(cls, invoker: Invoker) -> Account:
        if invoker.uid != 0 and not _ACCOUNT_NAME.match(invoker.name):
            raise HepstackError(
                f"your user name {invoker.name!r} cannot be an account name in the VM",
                hint="account names are letters, digits, '_', '.', '-' (at most 32), starting with a letter",
            )
        return cls("root" if invoker.uid == 0 else invoker.name, invoker.uid, invoker.gid)


@functools.cache
def template(name: str) -> str:
    return (resources.files("hepstack.vm") / "templates" / name).read_text(encoding="utf-8")


def fill(name: str, values: dict[str, str]) -> str:
    """The template ``name`` with each ``{{key}}`` replaced; a key hepstack does not provide is an error."""
    text = template(name)
    missing = sorted(set(_TEMPLATE_KEY.findall(text)) - set(values))
    if missing:
        raise HepstackError(f"VM template {name} uses {', '.join(missing)}, which hepstack does not provide")
    return _TEMPLATE_KEY.sub(lambda match: values[match[1]], text)


def stage_path(stage: Path, inside: str) -> Path:
    """The host path of the image path ``inside`` in ``stage``, its directories resolved (and made)
    inside the stage; the last component is not followed (it is written by rename, never through)."""
    parent, _, name = inside.rstrip("/").rpartition("/")
    directory = stage
    for part in [piece for piece in parent.split("/") if piece]:
        existing = tree_path(stage, str(directory.relative_to(stage) / part))
        if existing is None:
            (directory / part).mkdir(mode=0o755)
            existing = directory / part
        elif not existing.is_dir():
            raise HepstackError(f"the image's {inside} cannot be written: {part} is not a directory")
        directory = existing
    return directory / name


def write(stage: Path, inside: str, text: str, mode: int = 0o644) -> None:
    write_atomically(str(stage_path(stage, inside)), text.encode(), mode)


def image_environment(stage: Path) -> list[tuple[str, str]]:
    """The image's environment (its config's Env) as the node cache's unpack recorded it."""
    recorded = stage / "ch" / "environment"
    pairs = []
    if recorded.is_file():
        for line in recorded.read_text(encoding="utf-8", errors="replace").splitlines():
            name, equals, value = line.partition("=")
            if equals and ENV_NAME.match(name):
                pairs.append((name, value))
    return pairs


def environment_script(pairs: list[tuple[str, str]]) -> str:
    """``/etc/hepstack/environment``: the image's variables, as the init exports them before login."""
    lines = ["# The layer's environment (its image's Env), written by hepstack; the VM's init exports it.\n"]
    lines += [
        f"export {name}={bash_word(check_text(value, f'image variable {name}'))}\n" for name, value in pairs
    ]
    return "".join(lines)


def profile_script(pairs: list[tuple[str, str]]) -> str:
    """``/etc/profile.d/00-hepstack-environment.sh``: the same variables for logins that did not come
    through the init (``su -``, a login on another terminal); a variable already set is left alone."""
    lines = ["# The layer's environment for every login shell (written by hepstack).\n"]
    for name, value in pairs:
        if name != "PATH":  # /etc/profile sets PATH for each login
            quoted = bash_word(check_text(value, f"image variable {name}"))
            lines.append(f'[ -n "${{{name}+set}}" ] || export {name}={quoted}\n')
    return "".join(lines)


def merge_accounts(
    passwd: str, group: str, shadow: str | None, account: Account
) -> tuple[str, str, str | None]:
    """The image's passwd, group and shadow with the developer account added. An image account with the
    developer's name or uid gives way (the developer's files on a share carry their host uid)."""
    if account.uid == 0:
        return passwd, group, shadow
    shell = "/bin/bash"
    kept_users, removed = [], set()
    for line in passwd.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and (fields[0] == account.name or fields[2] == str(account.uid)):
            removed.add(fields[0])
            continue
        kept_users.append(line)
    kept_users.append(
        f"{account.name}:x:{account.uid}:{account.gid}:hepstack developer:{account.home}:{shell}"
    )
    groups = group.splitlines()
    group_ids = {fields[2] for fields in (line.split(":") for line in groups) if len(fields) >= 3}
    if str(account.gid) not in group_ids:
        names = {line.split(":", 1)[0] for line in groups}
        groups.append(f"{account.name if account.name not in names else 'developer'}:x:{account.gid}:")
    new_shadow = None
    if shadow is not None:
        entries = [
            line for line in shadow.splitlines() if line.split(":", 1)[0] not in removed | {account.name}
        ]
        entries.append(f"{account.name}:!:19000:0:99999:7:::")  # locked: the console logs in without one
        new_shadow = "\n".join(entries) + "\n"
    return "\n".join(kept_users) + "\n", "\n".join(groups) + "\n", new_shadow


def add_account(stage: Path, account: Account) -> str:
    """The developer account in the stage's passwd/group/shadow and its home; returns its shell."""
    passwd_path, group_path = stage_path(stage, "/etc/passwd"), stage_path(stage, "/etc/group")
    shadow_path = stage_path(stage, "/etc/shadow")
    shadow = shadow_path.read_text() if shadow_path.is_file() else None
    passwd, group, new_shadow = merge_accounts(
        passwd_path.read_text() if passwd_path.is_file() else "root:x:0:0:root:/root:/bin/sh\n",
        group_path.read_text() if group_path.is_file() else "root:x:0:\n",
        shadow,
        account,
    )
    write_atomically(str(passwd_path), passwd.encode(), 0o644)
    write_atomically(str(group_path), group.encode(), 0o644)
    if new_shadow is not None:
        write_atomically(str(shadow_path), new_shadow.encode(), 0o640)
    home = stage_path(stage, account.home)
    if account.uid != 0 and not home.exists():
        skeleton = tree_path(stage, "/etc/skel")
        if skeleton is not None and skeleton.is_dir():
            shutil.copytree(skeleton, home, symlinks=True)
        else:
            home.mkdir(mode=0o755)
    bash = tree_path(stage, "/bin/bash")
    return "/bin/bash" if bash is not None and bash.is_file() else "/bin/sh"


def install(stage: Path, bundle: KernelBundle, account: Account, hostname: str) -> None:
    """Turn the stage into a bootable root filesystem (the kernel itself goes to the boot partition)."""
    pairs = image_environment(stage)
    for name in CONTAINER_METADATA:
        found = stage / name
        if found.is_dir() and not found.is_symlink():
            shutil.rmtree(found)
        else:
            found.unlink(missing_ok=True)
    write(stage, f"{VM_DIRECTORY}/init", template("init.sh"), 0o755)
    write(stage, f"{VM_DIRECTORY}/dhcp", template("dhcp.sh"), 0o755)
    write_atomically(str(stage_path(stage, f"{VM_DIRECTORY}/busybox")), bundle.busybox.read_bytes(), 0o755)
    shell = add_account(stage, account)
    if account.uid == 0:
        shell = shell if shell == "/bin/bash" else "/bin/sh"
    settings = {"vm_user": account.name, "vm_uid": str(account.uid), "vm_gid": str(account.gid)}
    settings |= {"vm_home": account.home, "vm_shell": shell}
    conf = "".join(f"{key}={bash_word(value)}\n" for key, value in settings.items())
    write(stage, "/etc/hepstack/vm.conf", "# The VM's developer account (written by hepstack).\n" + conf)
    write(stage, "/etc/hepstack/environment", environment_script(pairs))
    write(stage, "/etc/profile.d/00-hepstack-environment.sh", profile_script(pairs))
    write(stage, "/etc/hostname", f"{hostname}\n")
    write(stage, "/etc/hosts", f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n::1\tlocalhost ip6-localhost\n")
    write(stage, "/etc/resolv.conf", "")  # the host's never goes in; DHCP writes the VM's at boot
    write(stage, "/etc/fstab", "# the VM's init mounts what it needs (hepstack)\n")
    modules = stage_path(stage, f"/lib/modules/{bundle.release}")
    if modules.is_dir() and not modules.is_symlink():
        shutil.rmtree(modules)
    proc.run(["cp", "-a", "--reflink=auto", str(bundle.modules), str(modules)])


def home_of(stage: Path, account: Account) -> Path | None:
    """The developer's home in the stage (for its ownership), or None for root."""
    return None if account.uid == 0 else stage_path(stage, account.home)


def hostname_for(reference: str) -> str:
    """``localhost/lat/dev:1.0`` -> ``lat-dev``: a host name (RFC 1123 label) from the image's name."""
    name = reference.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    parts = [*head.split("/"), last.split(":", 1)[0]] if head else [last.split(":", 1)[0]]
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    label = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")[:63].strip("-")
    return label or "hepstack-vm"
