"""Booting a VM disk with QEMU: a console, or one command whose output and exit status come back.

The VM's init (templates/init.sh) mounts the *control share*, a private directory of this run, as 9p
tag ``hepstack``. hepstack writes ``session`` (the mode, the terminal, the shared directories: shell
assignments and ``share`` calls, every value quoted by :func:`hepstack.quoting.bash_word`) and
``command`` (a script for the developer's login shell); the VM writes ``ready`` when it has booted, the
command's ``stdout`` and ``stderr`` as it runs, and ``status`` (its exit status) before powering off.
hepstack copies the output to its own stdout and stderr as it grows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from hepstack.errors import HepstackError
from hepstack.identity import Invoker
from hepstack.names import ENV_NAME
from hepstack.quoting import bash_word, check_text, reject
from hepstack.runtimes.base import check_container_path
from hepstack.vm import qemu
from hepstack.vm.guest import Account
from hepstack.vm.qemu import Accelerator, Machine, Share

POLL_SECONDS = 0.05
DEFAULT_BOOT_TIMEOUT = 600.0  # TCG boots a layer in 10-60 s here; a hung boot must not hang the caller
RESERVED_TARGETS = ("/", "/proc", "/sys", "/dev", "/run", "/run/hepstack")


@dataclass(frozen=True)
class Session:
    """What the VM is asked to do, and for whom."""

    account: Account
    command: tuple[str, ...] = ()  # empty: a console
    shares: tuple[Share, ...] = ()
    workdir: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    as_root: bool = False
    terminal: str = "linux"
    rows: int | None = None
    columns: int | None = None


def session_file(session: Session) -> str:
    """``session``, sourced by the VM's init."""
    account = session.account
    values = {
        "vm_user": account.name,
        "vm_uid": str(account.uid),
        "vm_gid": str(account.gid),
        "vm_home": account.home,
        "vm_mode": "command" if session.command else "console",
        "vm_as_root": "1" if session.as_root else "0",
        "vm_term": session.terminal,
    }
    if session.rows and session.columns:
        values |= {"vm_rows": str(session.rows), "vm_cols": str(session.columns)}
    lines = [f"{name}={bash_word(check_text(value, name))}\n" for name, value in values.items()]
    for index, share in enumerate(session.shares):
        options = "ro" if share.read_only else "rw"
        lines.append(f"share hepstack{index} {bash_word(check_target(share.target))} {options}\n")
    return "# written by hepstack vm run\n" + "".join(lines)


def command_script(session: Session) -> str:
    """``command``: run by the developer's login shell (``sh -l``), after the layer's profile; it starts
    in the working directory, else in the home of whoever it runs as (the disk's developer, or root)."""
    workdir = bash_word(check_target(session.workdir)) if session.workdir else ""
    lines = ["# written by hepstack vm run\n", f"cd {workdir}{' ' if workdir else ''}|| exit 125\n"]
    for name, value in session.env:
        if not ENV_NAME.match(name):
            reject(
                name, "--env name", "is not a variable name", "write NAME=VALUE, NAME of letters, digits, '_'"
            )
        lines.append(f"export {name}={bash_word(check_text(value, f'--env {name}'))}\n")
    lines.append("exec " + " ".join(bash_word(word) for word in session.command) + "\n")
    return "".join(lines)


def check_target(path: str) -> str:
    check_container_path(path, "path in the VM")
    normal = os.path.normpath(path)
    if normal in RESERVED_TARGETS:
        reject(
            path, "path in the VM", "is where the VM's own file systems are", "share it elsewhere, e.g. /data"
        )
    return normal


def workdir_for(cwd: str, shares: tuple[Share, ...]) -> str | None:
    """Where the command starts: the current directory's place in the VM if it is inside a share."""
    for share in shares:
        source = share.source.rstrip("/") or "/"
        if cwd == source or cwd.startswith(source + "/"):
            return share.target.rstrip("/") + cwd[len(source) :] if cwd != source else share.target
    return None


@dataclass
class _Streams:
    """Copies what the VM appended to ``stdout``/``stderr`` in the control share to ours."""

    control: Path
    offsets: dict[str, int]

    def copy(self) -> None:
        for name, sink in (("stdout", sys.stdout.buffer), ("stderr", sys.stderr.buffer)):
            path = self.control / name
            try:
                with path.open("rb") as source:
                    source.seek(self.offsets[name])
                    data = source.read()
            except OSError:
                continue
            if data:
                self.offsets[name] += len(data)
                sink.write(data)
                sink.flush()


def boot(
    disk: Path,
    disk_format: str,
    session: Session,
    *,
    accelerator: Accelerator,
    invoker: Invoker,
    label: str,
    cpus: int = 2,
    memory_mib: int = 2048,
    keep_changes: bool = False,
    boot_timeout: float = DEFAULT_BOOT_TIMEOUT,
) -> int:
    """Boot ``disk``; returns the command's exit status (or 0 after a console session)."""
    executable = qemu.require_qemu()
    run_as = invoker.name if os.geteuid() == 0 and invoker.uid != 0 else None
    run_directory = Path(tempfile.mkdtemp(prefix="hepstack-vm-"))
    try:
        control = run_directory / "control"
        control.mkdir()
        (control / "session").write_text(session_file(session))
        (control / "command").write_text(command_script(session) if session.command else "")
        for name in ("stdout", "stderr"):
            (control / name).touch()
        if run_as is not None:  # QEMU writes the control share as the user it drops to
            for path in (run_directory, control, *control.iterdir()):
                os.chown(path, invoker.uid, invoker.gid)
        console_log = run_directory / "console.log" if session.command else None
        machine = Machine(
            disk=disk,
            disk_format=disk_format,
            accelerator=accelerator,
            control=control,
            console_log=console_log,
            shares=session.shares,
            cpus=cpus,
            memory_mib=memory_mib,
            keep_changes=keep_changes,
            run_as=run_as,
            privileged=os.geteuid() == 0,
        )
        drop = qemu.privilege_drop_option(executable) if run_as else "-runas"
        argv = qemu.qemu_argv(executable, machine, drop)
        _say(f"booting {label} with {accelerator.name.upper()} ({accelerator.reason})")
        return _supervise(argv, machine, run_directory, boot_timeout)
    finally:
        shutil.rmtree(run_directory, ignore_errors=True)


def _supervise(argv: list[str], machine: Machine, run_directory: Path, boot_timeout: float) -> int:
    assert machine.control is not None
    control = machine.control
    qemu_log = run_directory / "qemu.log"
    started = time.monotonic()
    console = machine.console_log is None
    with qemu_log.open("wb") as log:
        child = subprocess.Popen(  # noqa: S603 - argv list, never a shell
            argv,
            stdin=None if console else subprocess.DEVNULL,
            stdout=None if console else log,
            stderr=log,
        )
    streams = _Streams(control, {"stdout": 0, "stderr": 0})
    booted = False
    try:
        while child.poll() is None:
            if not booted and (control / "ready").exists():
                booted = True
                _say(f"booted in {time.monotonic() - started:.1f} s ({machine.accelerator.name.upper()})")
            if not booted and time.monotonic() - started > boot_timeout:
                child.kill()
                child.wait()
                raise HepstackError(
                    f"the VM did not boot within {boot_timeout:.0f} s{_console_tail(machine, qemu_log)}",
                    hint="--boot-timeout SECONDS for a slow host; the console's last lines are above",
                )
            streams.copy()
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        child.kill()
        child.wait()
        raise
    streams.copy()
    if child.returncode != 0:
        raise HepstackError(
            f"QEMU exited with status {child.returncode}{_console_tail(machine, qemu_log)}",
            hint="the lines above are QEMU's and the VM console's last words",
        )
    if console:
        return 0
    status = control / "status"
    if not status.exists():
        raise HepstackError(
            f"the VM powered off without the command's exit status{_console_tail(machine, qemu_log)}",
            hint="the VM console's last lines are above; --debug keeps nothing more",
        )
    text = status.read_text(errors="replace").strip()
    if not text.isdigit():
        raise HepstackError(f"the VM wrote {text[:40]!r} as the command's exit status", hint="report this")
    return int(text)


def _console_tail(machine: Machine, qemu_log: Path, lines: int = 15) -> str:
    parts = []
    for path in (qemu_log, machine.console_log):
        if path is not None and path.exists():
            text = path.read_text(errors="replace").strip().splitlines()[-lines:]
            if text:
                parts.append(f"\n--- {path.name} ---\n" + "\n".join(text))
    return "".join(parts)


def _say(message: str) -> None:
    print(f"vm: {message}", file=sys.stderr, flush=True)
