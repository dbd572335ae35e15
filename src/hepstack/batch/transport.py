"""Where the scheduler's commands run: here, or on a site's login host through OpenSSH's ``ssh``.

The schedulers return argv (batch/schedulers); the executor hands each one to a transport. The SSH
transport turns the argv into one remote shell line (quoting.remote_command), so a value can never
become shell syntax on the login node, and runs ``ssh`` itself rather than a Python SSH library: the
user's keys, agent, ``~/.ssh/config`` (ProxyJump, aliases, Kerberos/GSSAPI) and known_hosts work as
they do in the user's own terminal. docs/remote-sites.md says why each option is set.

A dropped connection (``ssh`` exits 255) is retried with backoff, then reported as
:class:`SiteUnreachable`, which the callers keep apart from a job's failure.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from hepstack import private, proc
from hepstack.errors import HepstackError, ProcessError
from hepstack.names import LOGIN_HOST, LOGIN_HOST_RULE
from hepstack.quoting import remote_command

SSH_UNREACHABLE = 255  # ssh(1): "exits with 255 if an error occurred" (its own, not the command's)
RETRY_DELAYS = (1.0, 2.0, 4.0)  # seconds before the 2nd, 3rd and 4th attempt
CONNECT_TIMEOUT = 10


class SiteUnreachable(HepstackError):
    """The login host did not answer (after the retries): nothing is known about the jobs there."""


class Transport(ABC):
    remote = False

    @abstractmethod
    def run(
        self,
        argv: list[str],
        *,
        input_text: str | None = None,
        cwd: Path | None = None,
        timeout: float = 120,
        check: bool = False,
        hint: str | None = None,
    ) -> proc.Completed:
        """``argv`` to completion (in ``cwd``), stdout and stderr captured."""


class LocalTransport(Transport):
    def run(
        self,
        argv: list[str],
        *,
        input_text: str | None = None,
        cwd: Path | None = None,
        timeout: float = 120,
        check: bool = False,
        hint: str | None = None,
    ) -> proc.Completed:
        return proc.run(argv, cwd=cwd, input_text=input_text, timeout=timeout, check=check, hint=hint)


def control_directory() -> str:
    """A private directory (0700) for ssh's ControlMaster sockets: $XDG_RUNTIME_DIR, else /tmp. Short,
    since a unix socket path holds at most 107 bytes; ``%C`` (a 40-digit hash) names each socket."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = runtime if runtime and Path(runtime).is_dir() else "/tmp"
    return private.private_dir(f"{base}/hepstack-ssh-{os.geteuid()}", "XDG_RUNTIME_DIR")


@dataclass(frozen=True)
class SshTransport(Transport):
    """``ssh [-F CONFIG] [-p PORT] OPTIONS [USER@]HOST -- LINE`` for every command."""

    login_host: str
    ssh_config: str | None = None
    remote = True

    def ssh_argv(self, line: str) -> list[str]:
        match = LOGIN_HOST.match(self.login_host)  # a site file's, checked when it was read
        if match is None:
            raise HepstackError(f"bad login_host {self.login_host!r}", hint=f"write {LOGIN_HOST_RULE}")
        destination = f"{match['user']}@{match['host']}" if match["user"] else match["host"]
        argv = [proc.require("ssh", "a site with a login_host", "apt-get install openssh-client")]
        if self.ssh_config:
            argv += ["-F", self.ssh_config]
        if match["port"]:
            argv += ["-p", match["port"]]
        argv += [
            "-o", "BatchMode=yes",  # never a password or passphrase prompt: hepstack has no terminal
            "-o", f"ConnectTimeout={CONNECT_TIMEOUT}",
            "-o", "ServerAliveInterval=15",
            "-o", "ServerAliveCountMax=3",
            "-o", "ControlMaster=auto",  # one TCP+auth per login host, reused by every poll
            "-o", f"ControlPath={control_directory()}/%C",
            "-o", "ControlPersist=120",
            "-T",  # no terminal: the output is data
            destination, "--", line,
        ]  # fmt: skip
        return argv

    def run(
        self,
        argv: list[str],
        *,
        input_text: str | None = None,
        cwd: Path | None = None,
        timeout: float = 120,
        check: bool = False,
        hint: str | None = None,
    ) -> proc.Completed:
        words = ["sh", "-c", 'cd "$1" && shift && exec "$@"', "sh", str(cwd), *argv] if cwd else argv
        ssh = self.ssh_argv(remote_command(words))
        said = ""
        for delay in (0.0, *RETRY_DELAYS):
            if delay:
                time.sleep(delay)  # backoff between two connection attempts, not a wait for a state
            try:
                result = proc.run(ssh, input_text=input_text, timeout=timeout, check=False)
            except ProcessError as exc:  # a time-out: as unreachable as a refused connection
                said = exc.message
                continue
            if result.returncode != SSH_UNREACHABLE:
                if check and result.returncode != 0:
                    raise HepstackError(
                        f"{argv[0]} on {self.login_host} exited {result.returncode}: "
                        f"{(result.stderr or result.stdout).strip()}",
                        hint=hint,
                    )
                return result
            said = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "ssh exited 255"
        raise SiteUnreachable(
            f"site unreachable: ssh {self.login_host} failed {len(RETRY_DELAYS) + 1} times ({said})",
            hint=f"check by hand: ssh {self.login_host} true; the jobs there keep running meanwhile",
        )


def site_transport(site: str | None) -> Transport:
    """Where the scheduler commands of a job of ``site`` run (a site file no longer there: here)."""
    if site is None:
        return LocalTransport()
    from hepstack.sites import load_sites

    found = load_sites().get(site)
    if found is None or found.profile.login_host is None:
        return LocalTransport()
    config = found.profile.ssh_config
    return SshTransport(found.profile.login_host, str(Path(config).expanduser()) if config else None)
