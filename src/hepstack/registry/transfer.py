"""Push and pull through skopeo: every layer its own repository, blobs shared, digests recorded.

Credentials never reach an argv, a log line, an error message or the catalog: hepstack writes them into
a private (0600) auth file in a private temporary directory for the duration of one command and passes
its *path* (``--authfile``), the way podman and skopeo read ``${XDG_RUNTIME_DIR}/containers/auth.json``.
Without HEPSTACK_REGISTRY_USER/HEPSTACK_REGISTRY_PASSWORD (or ``--password-stdin``), skopeo uses the
usual auth files (``podman login`` / ``docker login``). Error text is still scrubbed of the secret.

Transient failures (connection refused or reset, HTTP 5xx, EOF) are retried with exponential backoff
(HEPSTACK_REGISTRY_RETRIES attempts, default 5; first wait HEPSTACK_REGISTRY_BACKOFF seconds, default 1),
then reported clearly. Blobs already in the registry are skipped, so a re-run after an interruption
uploads only what is missing.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hepstack import proc
from hepstack.errors import HepstackError, ProcessError

SKOPEO_HINT = "apt-get install skopeo (or run scripts/setup-host.sh)"
TRANSIENT = re.compile(
    r"connection refused|connection reset|closed network connection|broken pipe|\bEOF\b|i/o timeout|"
    r"TLS handshake timeout|"
    r"no such host|server misbehaving|\b50[0-4]\b|Internal Server Error|Bad Gateway|Service Unavailable|"
    r"Gateway Timeout|too many requests|\b429\b",
    re.IGNORECASE,
)
AUTH_FAILED = re.compile(r"unauthorized|authentication required|\b401\b|denied", re.IGNORECASE)


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never print the password, even by accident
        return f"Credentials(username={self.username!r}, password=***)"

    def secrets(self) -> list[str]:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return [self.password, token]


def credentials_from(
    environment: Mapping[str, str] | None = None, password_stdin: str | None = None
) -> Credentials | None:
    """HEPSTACK_REGISTRY_USER with HEPSTACK_REGISTRY_PASSWORD (or a password read from stdin)."""
    environment = os.environ if environment is None else environment
    user = environment.get("HEPSTACK_REGISTRY_USER")
    password = password_stdin if password_stdin is not None else environment.get("HEPSTACK_REGISTRY_PASSWORD")
    if not user and not password:
        return None
    if not user or password is None:
        raise HepstackError(
            "registry credentials need both a user and a password",
            hint="set HEPSTACK_REGISTRY_USER and HEPSTACK_REGISTRY_PASSWORD (or --password-stdin), "
            "or log in once with `podman login` / `docker login`",
        )
    return Credentials(user, password.rstrip("\n"))


@dataclass(frozen=True)
class Registry:
    """Where to push: ``HOST[:PORT]/NAMESPACE`` plus how to talk to it."""

    location: str
    tls_verify: bool = True
    credentials: Credentials | None = None

    @property
    def host(self) -> str:
        return self.location.split("/", 1)[0]

    def repository(self, stack: str, layer: str) -> str:
        return f"{self.location.rstrip('/')}/{stack}/{layer}"


@dataclass(frozen=True)
class CopyResult:
    destination: str
    digest: str
    blobs_copied: int
    blobs_skipped: int


def storage_transport(engine: str, reference: str) -> str:
    """skopeo's name for an image in a local engine store."""
    from hepstack.build.engines import ENGINES, get_engine

    if engine not in ENGINES:
        raise HepstackError(f"cannot push from engine {engine!r}", hint=" or ".join(ENGINES))
    return f"{get_engine(engine).skopeo_transport}:{reference}"


class Transfer:
    """Runs skopeo with an auth file, retries and scrubbing; one per command."""

    def __init__(self, registry: Registry, environment: Mapping[str, str] | None = None) -> None:
        self.registry = registry
        environment = os.environ if environment is None else environment
        self.attempts = max(1, int(environment.get("HEPSTACK_REGISTRY_RETRIES", "5")))
        self.backoff = float(environment.get("HEPSTACK_REGISTRY_BACKOFF", "1"))
        self.skopeo = proc.require("skopeo", "registry push and pull", SKOPEO_HINT)

    @contextmanager
    def _auth_options(self, side: str) -> Iterator[list[str]]:
        """``--{side}-authfile PATH`` with a private file holding the credentials, or nothing."""
        if self.registry.credentials is None:
            yield []
            return
        credentials = self.registry.credentials
        with tempfile.TemporaryDirectory(prefix="hepstack-auth-") as private:  # mode 0700
            path = Path(private) / "auth.json"
            token = base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode()
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                json.dump({"auths": {self.registry.host: {"auth": token}}}, handle)
            yield [f"--{side}-authfile", str(path)] if side else ["--authfile", str(path)]

    def copy(self, source: str, destination: str, *, push: bool) -> CopyResult:
        """``skopeo copy`` with retries; ``push`` says which side is the registry."""
        tls = f"--{'dest' if push else 'src'}-tls-verify={'true' if self.registry.tls_verify else 'false'}"
        with (
            self._auth_options("dest" if push else "src") as auth,
            tempfile.TemporaryDirectory(prefix="hepstack-copy-") as scratch,
        ):
            digest_file = Path(scratch) / "digest"
            # --debug is the only way skopeo says, without a terminal, which blobs it skipped or sent.
            argv = [
                self.skopeo,
                "--debug",
                "copy",
                tls,
                *auth,
                "--digestfile",
                str(digest_file),
                source,
                destination,
            ]
            result = self._run_with_retries(argv, what=f"copying {source} to {destination}")
            digest = digest_file.read_text().strip() if digest_file.exists() else ""
        output = result.stdout + result.stderr
        # c/image's debug messages: "Upload of layer sha256:... complete" (configs included) and
        # "Skipping blob sha256:... (already present)" (found in the repository or mounted from another).
        copied = len(set(re.findall(r"Upload of layer (sha256:[0-9a-f]+) complete", output)))
        skipped = len(set(re.findall(r"Skipping blob (sha256:[0-9a-f]+) \(already present\)", output)))
        return CopyResult(destination, digest, copied, skipped)

    def copy_within(self, source: str, destination: str) -> CopyResult:
        """Registry-to-registry copy (a second tag for the same manifest): both sides authenticated."""
        tls = "true" if self.registry.tls_verify else "false"
        with (
            self._auth_options("src") as source_auth,
            self._auth_options("dest") as dest_auth,
            tempfile.TemporaryDirectory(prefix="hepstack-copy-") as scratch,
        ):
            digest_file = Path(scratch) / "digest"
            argv = [
                self.skopeo,
                "copy",
                f"--src-tls-verify={tls}",
                f"--dest-tls-verify={tls}",
                *source_auth,
                *dest_auth,
                "--digestfile",
                str(digest_file),
                f"docker://{source}",
                f"docker://{destination}",
            ]
            self._run_with_retries(argv, what=f"tagging {source} as {destination}")
            digest = digest_file.read_text().strip() if digest_file.exists() else ""
        return CopyResult(destination, digest, 0, 0)

    def inspect_digest(self, reference: str) -> str:
        tls = f"--tls-verify={'true' if self.registry.tls_verify else 'false'}"
        with self._auth_options("") as auth:
            argv = [self.skopeo, "inspect", tls, *auth, "--format", "{{.Digest}}", f"docker://{reference}"]
            return self._run_with_retries(argv, what=f"inspecting {reference}").stdout.strip()

    def _run_with_retries(self, argv: list[str], *, what: str) -> proc.Completed:
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                return proc.run(argv)
            except ProcessError as raw:
                stderr = self._scrub_text(_without_debug(raw.stderr))
                transient = bool(TRANSIENT.search(stderr)) and not _FINAL.search(stderr)
                if not transient or attempt == self.attempts:
                    raise self._failure(stderr, raw.returncode, what=what, attempts=attempt) from None
                print(
                    f"hepstack: {what}: attempt {attempt}/{self.attempts} failed "
                    f"({skopeo_reason(stderr)[:200]}); retrying in {delay:.1f} s",
                    file=sys.stderr,
                )
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")

    def _failure(self, stderr: str, returncode: int, *, what: str, attempts: int) -> HepstackError:
        """One ``error:`` line and one ``hint:`` for a failed skopeo run: the cause in words, never
        skopeo's raw output (``--debug`` shows the commands hepstack runs)."""
        host = self.registry.host
        reason = skopeo_reason(stderr)
        if _PLAIN_HTTP.search(stderr):
            return HepstackError(
                f"{what} failed: the registry {host} speaks plain HTTP, and TLS verification is on",
                hint="pass --no-tls-verify for a plain-HTTP registry you trust (a loopback test registry), "
                "or serve it with TLS (docs/images-on-sites.md)",
            )
        if _BAD_CERTIFICATE.search(stderr):
            return HepstackError(
                f"{what} failed: the TLS certificate of {host} is not trusted ({reason})",
                hint=f"install the registry's CA as /etc/containers/certs.d/{host}/ca.crt (or in the "
                "system store); --no-tls-verify turns verification off for this command only",
            )
        if AUTH_FAILED.search(stderr) and not TRANSIENT.search(stderr):
            return HepstackError(
                f"the registry {host} refused the credentials while {what}",
                hint="check HEPSTACK_REGISTRY_USER/HEPSTACK_REGISTRY_PASSWORD or `podman login "
                f"{host}`; the password is never shown",
            )
        if _NOT_FOUND.search(stderr):
            return HepstackError(
                f"{what} failed: the registry {host} has no such image ({reason})",
                hint=f"check the repository and tag: skopeo list-tags docker://{host}/REPOSITORY",
            )
        if TRANSIENT.search(stderr):
            return HepstackError(
                f"{what} failed after {attempts} attempts: {reason}",
                hint="the registry is unreachable or failing; re-run the same command when it is back "
                "(blobs already uploaded are skipped)",
            )
        return HepstackError(
            f"{what} failed (skopeo exit {returncode}): {reason}",
            hint="run with `hepstack --debug ...` to see the skopeo command and its output",
        )

    def _scrub_text(self, text: str) -> str:
        if self.registry.credentials is not None:
            for secret in self.registry.credentials.secrets():
                if secret:
                    text = text.replace(secret, "***")
        return text

    def _scrubbed(self, exc: ProcessError) -> str:
        return self._scrub_text(exc.message)


_PLAIN_HTTP = re.compile(r"server gave HTTP response to HTTPS client", re.IGNORECASE)
_BAD_CERTIFICATE = re.compile(
    r"x509:|certificate (?:signed by unknown|is not valid|has expired)", re.IGNORECASE
)
_NOT_FOUND = re.compile(r"manifest unknown|name unknown|not found|repository name not known", re.IGNORECASE)
# Failures no retry can mend, even when their text mentions something transient-looking.
_FINAL = re.compile(
    rf"{_PLAIN_HTTP.pattern}|{_BAD_CERTIFICATE.pattern}|{_NOT_FOUND.pattern}|{AUTH_FAILED.pattern}",
    re.IGNORECASE,
)
_FATAL_MESSAGE = re.compile(r'level=(?:fatal|error) msg="((?:[^"\\]|\\.)*)"')


def skopeo_reason(stderr: str) -> str:
    """The cause in skopeo's last error line: the ``msg="..."`` of ``level=fatal``, else the last line;
    one line, at most 300 characters."""
    messages = _FATAL_MESSAGE.findall(stderr)
    text = messages[-1].replace('\\"', '"') if messages else (stderr.strip().splitlines() or ["?"])[-1]
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


def _without_debug(stderr: str) -> str:
    """skopeo's own messages, without its --debug chatter (which we only parse for blob counts)."""
    return "\n".join(line for line in stderr.splitlines() if "level=debug" not in line)
