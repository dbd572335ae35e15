"""Private state: directories only their user can enter, files only their user reads, written whole.

Everything hepstack keeps between runs (the catalog, the job state, job directories, logs, remembered
launches, cached native environments, the node image cache) is read back later, often by root through
sudo. A directory or file that someone else made or can write could make hepstack read a planted
environment, run a planted tree or write through a planted symlink (docs/security.md).
So every writer of state goes through these few functions:

- :func:`private_dir` creates a directory 0700, or accepts an existing one only if this user owns it,
  nobody else can write it and nobody else can replace it (its parent is this user's or root's, and
  not writable by others unless sticky); :class:`UnsafeState` otherwise, naming the setting to change;
- :func:`write_atomically` writes a file under a fresh name opened ``O_CREAT|O_EXCL|O_NOFOLLOW``
  (mode 0600 unless asked) and renames it into place, so a reader sees the old file or the whole new
  one and a planted symlink is never written through;
- :func:`read_trusted` reads a file only if it is a regular file (no symlink followed) owned by a
  trusted uid (the user, or a shared cache's configured owner) and writable by nobody else.

Strings and os only: the fast path of `hepstack run` (:mod:`hepstack.run.plan`) uses this module
and may import nothing heavier (tests/runtimes/test_fast_entry.py, test_launch_plan.py).

>>> private_dir("/home/alice/.cache/hepstack", "HEPSTACK_CACHE_DIR")     # doctest: +SKIP
>>> write_atomically("/home/alice/.cache/hepstack/x.json", b"{}")         # doctest: +SKIP
"""

from __future__ import annotations

import os
import stat

from hepstack.errors import HepstackError

OTHERS_WRITE = 0o022  # group or world may write: they could plant or replace what is inside
OTHERS_ANY = 0o077
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeState(HepstackError):
    """A state directory or file that another user made or can write: refused, never used."""


class UntrustedFile(PermissionError):
    """A cached file another user made or can write: treated as absent (an OSError), never used."""


def owner_name(uid: int) -> str:
    import pwd

    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def check_status(path: str, status: os.stat_result, owner: int, setting: str, kind: str) -> None:
    """Raise :class:`UnsafeState` unless ``status`` is of ``kind`` ("directory" or "file"), belongs to
    ``owner`` and nobody else can write it."""
    is_kind = stat.S_ISDIR(status.st_mode) if kind == "directory" else stat.S_ISREG(status.st_mode)
    if not is_kind:
        raise UnsafeState(f"{path} is not a {kind}", hint=f"remove it, or set {setting} elsewhere")
    if status.st_uid != owner:
        raise UnsafeState(
            f"{path} belongs to {owner_name(status.st_uid)}, not to {owner_name(owner)}: "
            "hepstack uses no state that another user could have planted",
            hint=f"set {setting} to a path of your own (hepstack makes what is missing, mode 0700), "
            "or remove this one",
        )
    if status.st_mode & OTHERS_WRITE:
        raise UnsafeState(
            f"{path} is writable by other users (mode {stat.S_IMODE(status.st_mode):04o}): "
            "they could plant what hepstack reads from it",
            hint=f"check its contents, then `chmod go-w {path}`; or set {setting} to a path of your own",
        )


def private_dir(path: str, setting: str, *, tighten: bool = True, shared: bool = False) -> str:
    """``path`` as a directory of this user that nobody else can write; made (with parents) if missing.

    A new directory is 0700 (0755 when ``shared``: a node cache others read). An existing one must
    belong to this user and not be writable by group or others. ``tighten`` drops the group and world
    bits of an existing private one (a directory hepstack names; not the parent of a file the user
    pointed a setting at). ``setting`` names the variable the hint tells the user to change.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)  # the parents: ordinary directories
    _check_parent(path, os.geteuid(), setting)
    try:
        os.mkdir(path, 0o755 if shared else 0o700)
        return path  # ours, with the mode asked (the umask only removes bits)
    except FileExistsError:
        pass
    status = _status_through_own_link(path, os.geteuid(), setting)
    check_status(path, status, os.geteuid(), setting, "directory")
    if tighten and not shared and status.st_mode & OTHERS_ANY:
        os.chmod(path, 0o700)  # made by an older hepstack with the umask's 0755
    return path


def private_tree(root: str, parts: tuple[str, ...], setting: str) -> str:
    """``root/parts...``, each level a :func:`private_dir`."""
    path = private_dir(root, setting)
    for part in parts:
        path = private_dir(os.path.join(path, part), setting)
    return path


def trusted_dir(path: str, owner: int, setting: str) -> str:
    """An existing directory of ``owner`` that nobody else can write or replace (a shared cache that
    another account owns and this user only reads)."""
    try:
        _check_parent(path, owner, setting)
        status = _status_through_own_link(path, owner, setting)
    except FileNotFoundError:
        raise UnsafeState(
            f"the shared directory {path} does not exist",
            hint=f"its owner {owner_name(owner)} makes it by converting the first image; or unset {setting}",
        ) from None
    check_status(path, status, owner, setting, "directory")
    return path


def _check_parent(path: str, owner: int, setting: str) -> None:
    """Nobody but ``owner`` and root may rename ``path`` away and put another in its place."""
    parent = os.path.dirname(os.path.abspath(path))
    status = os.stat(parent)
    writable_by_others = status.st_mode & OTHERS_WRITE and not status.st_mode & stat.S_ISVTX
    if status.st_uid not in (owner, 0) or writable_by_others:
        raise UnsafeState(
            f"{path} is in {parent}, which {owner_name(status.st_uid)} owns (mode "
            f"{stat.S_IMODE(status.st_mode):04o}): another user could replace what hepstack keeps there",
            hint=f"set {setting} to a path in a directory of your own (or in a sticky one such as /tmp)",
        )


def _status_through_own_link(path: str, owner: int, setting: str) -> os.stat_result:
    """The status of ``path``; a symlink is followed only if it belongs to ``owner`` or root."""
    status = os.lstat(path)
    if stat.S_ISLNK(status.st_mode):
        if status.st_uid not in (owner, 0):
            raise UnsafeState(
                f"{path} is a symlink made by {owner_name(status.st_uid)}",
                hint=f"remove it, or set {setting} to a path of your own",
            )
        status = os.stat(path)
    return status


def private_file(path: str, setting: str) -> str:
    """A state file (a SQLite database) that exists and is this user's only: made 0600
    (``O_EXCL|O_NOFOLLOW``) if missing, else checked and its group and world bits dropped."""
    try:
        os.close(os.open(path, _NEW_FILE, 0o600))
        return path
    except FileExistsError:
        pass
    status = os.lstat(path)  # a symlink is "not a file": never followed
    check_status(path, status, os.geteuid(), setting, "file")
    if status.st_mode & OTHERS_ANY:
        os.chmod(path, stat.S_IMODE(status.st_mode) & 0o700)
    return path


def write_atomically(path: str, data: bytes, mode: int = 0o600) -> None:
    """Write ``path`` whole: a fresh ``O_EXCL|O_NOFOLLOW`` file next to it, renamed over it.

    The one atomic write of hepstack (state, manifests, reports). ``mode`` is that of the new file
    (the umask still applies): state is 0600; outputs that others may read pass 0o666.
    """
    descriptor, partial = open_exclusive(path, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
        os.close(descriptor)
        descriptor = -1
        os.replace(partial, path)  # replaces a symlink at ``path`` itself, never its target
    except BaseException:
        if descriptor >= 0:
            os.close(descriptor)
        remove_quietly(partial)
        raise


def open_exclusive(path: str, mode: int = 0o600) -> tuple[int, str]:
    """A new file beside ``path`` under an unguessable name: (descriptor, its path). Rename it over
    ``path`` once complete; :func:`write_atomically` does all of it for bytes in memory."""
    folder, name = os.path.split(path)
    partial = os.path.join(folder, f".{name}.{os.getpid()}-{os.urandom(6).hex()}")
    return os.open(partial, _NEW_FILE, mode), partial


def append_line(path: str, line: str, setting: str, mode: int = 0o600) -> None:
    """Append ``line`` to a log of this user's (``O_APPEND``, no symlink followed, the owner checked)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    descriptor = os.open(path, flags, mode)
    try:
        check_status(path, os.fstat(descriptor), os.geteuid(), setting, "file")
        os.write(descriptor, line.encode())
    finally:
        os.close(descriptor)


def open_log(path: str, setting: str) -> int:
    """A log of this user's, emptied for writing (no symlink followed, the owner checked), 0600 if new."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        check_status(path, os.fstat(descriptor), os.geteuid(), setting, "file")
        os.ftruncate(descriptor, 0)  # only once it is known to be the user's own
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def read_trusted(path: str, owners: tuple[int, ...] | None = None) -> bytes:
    """The contents of ``path`` if it is a regular file (not a symlink) of one of ``owners`` (default:
    this user) that nobody else can write; else :class:`UntrustedFile`, an OSError like a missing file."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        status = os.fstat(descriptor)
        trusted = (os.geteuid(),) if owners is None else owners
        if not stat.S_ISREG(status.st_mode) or status.st_uid not in trusted or status.st_mode & OTHERS_WRITE:
            raise UntrustedFile(f"{path} is not a file of uid {trusted} that only its owner can write")
        chunks = []
        while chunk := os.read(descriptor, max(status.st_size, 65536)):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def remove_quietly(path: str) -> None:
    try:  # noqa: SIM105 -- contextlib would cost the fast path an import
        os.unlink(path)
    except OSError:
        pass
