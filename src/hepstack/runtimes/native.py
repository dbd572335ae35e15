"""native: the same command on the host, with the same env/profile semantics; the study's baseline.

Like a container it starts from a clean environment (not the caller's), sources the login profile
and the layer chain's profile scripts, applies the layer chain's `env`, then explicit --env values.
"""

from __future__ import annotations

import os
import shlex

from hepstack.errors import HepstackError
from hepstack.runtimes.base import (
    LOGIN_SCRIPT,
    WRAPPER_NAME,
    Availability,
    RunRequest,
    Runtime,
    check_command,
)

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"

# Natively the command comes from the host's PATH, which holds no release unless told: a missing one is
# said as hepstack's errors are (env(1)'s "No such file or directory" names neither PATH nor a fix).
# The check sees PATH as the command will (profiles sourced, --env applied: a subshell exports the
# NAME=VALUE arguments, already validated); its values are arguments, never script text.
FIND_COMMAND = (
    '( for word do case $word in *=*) export "$word" ;; *) command -v "$word" >/dev/null 2>&1 || { '
    'printf \'error: %s is not on PATH natively (PATH=%s)\\n\' "$word" "$PATH" >&2; '
    "printf 'hint: put the bin directory of the native install of the release first on PATH: "
    f"--env PATH=DIR:{DEFAULT_PATH} (docs/running.md, Native runs)\\n' >&2; exit 127; }}; break ;; esac; "
    "done ) || exit 127; "
)


class NativeRuntime(Runtime):
    name = "native"
    tool = "env"
    in_image = False
    install_hint = "coreutils provides env"
    privilege_model = "none: the job is an ordinary process of the user on the host"
    runs_as_user = "yes: the user's own process (env -i, the user's HOME, USER, PATH)"
    batch_systems = "every scheduler: the job script runs the command itself"
    image_formats = "no image: the release installed on each node for its OS (install-native.sh)"
    image_caching = "none"
    site_install = "the release, built for the node's OS, on every node or a shared file system"

    def argv(self, request: RunRequest) -> list[str]:
        for bind in request.binds:
            if bind.source != bind.target:
                raise HepstackError(
                    f"the native runtime cannot bind {bind.source} at {bind.target}",
                    hint="natively, use the host path directly (or --bind PATH:PATH)",
                )
        argv = ["env", "-i"]
        if request.workdir:
            argv += ["--chdir", request.workdir]  # env(1) options come before its NAME=VALUE arguments
        argv += [
            f"HOME={request.user.home}",
            f"USER={request.user.name}",
            f"LOGNAME={request.user.name}",
            f"PATH={DEFAULT_PATH}",
        ]
        if "TERM" in os.environ and request.tty:
            argv.append(f"TERM={os.environ['TERM']}")
        argv += [f"{name}={value}" for name, value in request.image_env.items()]
        script = "".join(f". {shlex.quote(profile)}; " for profile in request.profiles) + LOGIN_SCRIPT
        # no mount namespace: a secret is its host file, named by HEPSTACK_SECRET_<NAME>
        assignments = request.secret_assignments(in_image=False)
        assignments += [f"{name}={value}" for name, value in request.env.items()]
        check_command(request)
        script = script.removesuffix(LOGIN_SCRIPT) + FIND_COMMAND + LOGIN_SCRIPT  # PATH as profiles left it
        return [*argv, "/bin/sh", "-l", "-c", script, WRAPPER_NAME, *assignments, *request.command]

    def plan_files(self, request: RunRequest) -> list[str] | None:
        return []  # the layer spec the env came from is watched by hepstack.run.launch

    def availability(self) -> Availability:
        return Availability(True, "the host itself")
