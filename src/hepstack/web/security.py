"""The dashboard's defences: the action token, CSRF, same-origin and Host checks, response headers, and
reading files only from where they belong.

- Read-only unless ``hepstack serve --allow-actions``; then an action (rollback, cancel) needs a session
  that presented the token. The token is a file of the user's (0600, made with 32 random bytes when
  missing, never printed, never in argv, a URL or a log); the session cookie is HttpOnly, SameSite=Strict,
  signed with a key made at start (sessions end with the server).
- Every POST must carry the session's CSRF token, and a browser's ``Sec-Fetch-Site``/``Origin`` must say
  same origin: a cross-site form is refused before anything reads its fields.
- The Host header must name the address served (a DNS-rebinding page cannot read the dashboard).
- Every response: a Content-Security-Policy allowing only this origin's script and style (no inline
  script), no framing, no sniffing, no referrer.
- Logs are found by their attempt's id in the state DB, reports by their evidence line; a file name in a
  URL is accepted only as a plain name inside that directory (``../../etc/passwd`` is refused).
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from pathlib import Path

from hepstack import private
from hepstack.errors import HepstackError

TOKEN_SETTING = "--token-file"
CSRF_FIELD = "csrf"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # no-referrer would make browsers send `Origin: null` on forms
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
LOG_TAIL_BYTES = 256 * 1024  # the end of a log is where a failure is


def load_token(path: Path) -> str:
    """The action token from ``path`` (made, 0600, if missing). A file others can read or write, or that
    is not the user's own regular file, is refused."""
    if not path.exists() and not path.is_symlink():
        private.private_dir(str(path.parent), TOKEN_SETTING, tighten=False)
        private.write_atomically(str(path), (secrets.token_urlsafe(32) + "\n").encode(), 0o600)
    try:
        data = private.read_trusted(str(path))
        mode = stat.S_IMODE(os.lstat(path).st_mode)
    except OSError as exc:
        raise HepstackError(
            f"cannot use the token file {path}: {exc}",
            hint="give --token-file a regular file of yours (not a symlink) that only you can write",
        ) from None
    if mode & 0o077:
        raise HepstackError(
            f"the token file {path} is readable by others (mode {mode:04o})",
            hint=f"chmod 600 {path}, and make a new token if others may have read it",
        )
    token = data.decode("utf-8", errors="replace").strip()
    if len(token) < 16:
        raise HepstackError(
            f"the token in {path} is too short", hint="put at least 16 random characters in it"
        )
    return token


def same(given: str | None, expected: str) -> bool:
    """Constant-time comparison (the token and CSRF values); nothing equals an empty expectation."""
    return bool(given) and bool(expected) and hmac.compare_digest(str(given).encode(), expected.encode())


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def cross_site(headers: dict[str, str], own_origin: str) -> str | None:
    """Why a POST is not from this dashboard's own pages, or None: the browser's Sec-Fetch-Site (Fetch
    Metadata) and Origin say where the form came from."""
    fetch_site = headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site is {fetch_site}"
    origin = headers.get("Origin")
    if origin is not None and origin != own_origin:
        return f"Origin is {origin}"
    return None


def allowed_hosts(host: str, port: int) -> set[str]:
    """The Host header values that name this server (the loopback names when bound to loopback)."""
    names = {host, f"[{host}]"} if ":" in host else {host}
    if host in ("127.0.0.1", "::1", "localhost"):
        names |= {"127.0.0.1", "localhost", "[::1]"}
    return {f"{name}:{port}" for name in names} | (names if port == 80 else set())


def read_log_tail(path: str, limit: int = LOG_TAIL_BYTES) -> tuple[str, bool]:
    """The last ``limit`` bytes of a log as text, and whether it was cut. A log must be a regular file
    of this user's (no symlink followed); anything else is an OSError."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or status.st_uid != os.geteuid():
            raise PermissionError(f"{path} is not a regular file of yours")
        cut = status.st_size > limit
        if cut:
            os.lseek(descriptor, status.st_size - limit, os.SEEK_SET)
        chunks = []
        while chunk := os.read(descriptor, 65536):
            chunks.append(chunk)
            if sum(map(len, chunks)) >= limit:
                break
        return b"".join(chunks)[:limit].decode("utf-8", errors="replace"), cut
    finally:
        os.close(descriptor)


def file_in(directory: Path, name: str, suffixes: tuple[str, ...]) -> Path | None:
    """``directory/name`` when ``name`` is a plain file name (no separator, no '..', not hidden) with one of
    ``suffixes`` and a regular file there; else None (the caller answers 404)."""
    if not name or "/" in name or "\\" in name or name.startswith(".") or "\x00" in name:
        return None
    if not name.endswith(suffixes):
        return None
    candidate = directory / name
    try:
        status = candidate.lstat()
    except OSError:
        return None
    return candidate if stat.S_ISREG(status.st_mode) else None
