"""The sshd on 127.0.0.1:2222 (scripts/setup-services.sh) as "a remote site": the test user logs in with
its key against a pinned host key and runs SLURM and SGE commands there, with SGE's environment; no
password login, no root login."""

from __future__ import annotations

import pwd
import subprocess

import pytest

from tests.services.endpoints import SshSite
from tests.services.polling import poll

JOB_NAME = "hepstack-test-ssh"


def over_ssh(site: SshSite, *remote: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``remote`` on the site, as the test user (its own key, its own known_hosts)."""
    argv = ["runuser", "-u", site.user, "--", *site.argv(*remote)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(remote)} over ssh exited {result.returncode}: {result.stderr}")
    return result


def test_login_with_the_key_and_sge_environment(ssh_site: SshSite, test_user: pwd.struct_passwd) -> None:
    result = over_ssh(ssh_site, "sh", "-c", 'id -un; printf "%s\\n" "$SGE_ROOT" "$SGE_CELL"; command -v qsub')
    assert result.stdout.splitlines() == [
        test_user.pw_name,
        "/var/lib/gridengine",
        "default",
        "/usr/bin/qsub",
    ]


@pytest.mark.slurm
def test_slurm_over_ssh(ssh_site: SshSite, test_user: pwd.struct_passwd) -> None:
    assert over_ssh(ssh_site, "squeue", "--noheader", "--user", ssh_site.user).returncode == 0
    native_id = over_ssh(
        ssh_site, "sbatch", "--parsable", f"--job-name={JOB_NAME}", "--output=/dev/null", "--wrap=exit 4"
    ).stdout.strip()
    assert native_id.isdigit()
    sacct = ("sacct", "--noheader", "--parsable2", "-X", "--jobs", native_id, "--format=State,ExitCode")
    poll(lambda: over_ssh(ssh_site, *sacct).stdout.strip() == "FAILED|4:0", 60, f"job {native_id} in sacct")


@pytest.mark.sge
def test_sge_over_ssh(ssh_site: SshSite, test_user: pwd.struct_passwd) -> None:
    assert over_ssh(ssh_site, "qstat", "-u", ssh_site.user).returncode == 0
    native_id = over_ssh(
        ssh_site, "qsub", "-b", "y", "-terse", "-N", JOB_NAME, "-o", "/dev/null", "-e", "/dev/null", "false"
    ).stdout.strip()
    assert native_id.isdigit()

    def exit_status() -> str:
        qacct = over_ssh(ssh_site, "qacct", "-j", native_id, check=False).stdout
        return next((line.split()[1] for line in qacct.splitlines() if line.startswith("exit_status")), "")

    poll(lambda: exit_status() == "1", 60, f"SGE job {native_id} in qacct")


def test_password_and_root_logins_are_refused(ssh_site: SshSite, test_user: pwd.struct_passwd) -> None:
    no_key = [*ssh_site.argv("true")]
    no_key[no_key.index("IdentitiesOnly=yes")] = "PubkeyAuthentication=no"
    result = subprocess.run(
        ["runuser", "-u", ssh_site.user, "--", *no_key], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 255 and "Permission denied (publickey)" in result.stderr
    as_root = [arg.replace(f"{ssh_site.user}@", "root@") for arg in ssh_site.argv("true")]
    result = subprocess.run(as_root, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 255 and "Permission denied" in result.stderr
