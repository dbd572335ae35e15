"""hepstack's directories and settings, from the environment, as plain strings.

HEPSTACK_DATA_DIR    catalog, job state, job directories, build logs
                     (default: $XDG_DATA_HOME/hepstack, ~/.local/share/hepstack)
HEPSTACK_CACHE_DIR   remembered launches, native environments, the node image cache unless
                     HEPSTACK_NODE_CACHE is set (default: $XDG_CACHE_HOME/hepstack, ~/.cache/hepstack)
HEPSTACK_CATALOG     the catalog's SQLite file (default: DATA_DIR/catalog.sqlite)
HEPSTACK_STATE_DB    batch job state, an SQLAlchemy URL (default: DATA_DIR/state.sqlite)
HEPSTACK_NODE_CACHE  the per-node image cache (ch-run trees, SquashFS, SIF) (default: CACHE_DIR)
HEPSTACK_CACHE_OWNER the account (name or uid) that owns a node cache several users share: its entries
                     are used by everyone, only it converts and evicts; needs HEPSTACK_NODE_CACHE
HEPSTACK_CACHE_MAX   bound of the per-node image cache, e.g. 20GB (least recently used evicted)
HEPSTACK_REGISTRY_USER / _PASSWORD   registry credentials (else podman/docker login files)
HEPSTACK_REGISTRY_RETRIES / _BACKOFF transient registry failures: attempts and first wait

Every directory of state is private (:mod:`hepstack.private`, docs/security.md): made 0700, refused when
another user owns it or can write it; a shared node cache is the one exception, and only for the
account HEPSTACK_CACHE_OWNER names.

No pathlib here (its import is ~15 ms on these machines): the fast path of `hepstack run`
(:mod:`hepstack.run.plan`) finds its cache with these few lookups. :class:`hepstack.context.Context`
wraps the same answers in Paths for everything else, so both always agree.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing and collections.abc cost the fast path ~15 ms of imports
if TYPE_CHECKING:
    from collections.abc import Mapping

_XDG_DEFAULTS = {"XDG_DATA_HOME": ".local/share", "XDG_CACHE_HOME": ".cache", "XDG_CONFIG_HOME": ".config"}


def xdg_dir(variable: str, environment: Mapping[str, str]) -> str:
    """hepstack's directory under an XDG base directory: an absolute $VARIABLE, else ~/DEFAULT.

    The XDG Base Directory rules in three lines instead of platformdirs (Linux only, like the runtimes).
    """
    base = environment.get(variable, "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), _XDG_DEFAULTS[variable])
    return os.path.join(base, "hepstack")


def data_dir(environment: Mapping[str, str]) -> str:
    return environment.get("HEPSTACK_DATA_DIR") or xdg_dir("XDG_DATA_HOME", environment)


def cache_dir(environment: Mapping[str, str]) -> str:
    return environment.get("HEPSTACK_CACHE_DIR") or xdg_dir("XDG_CACHE_HOME", environment)


def node_cache_dir(environment: Mapping[str, str]) -> str | None:
    """HEPSTACK_NODE_CACHE, or None: the node cache is in the cache directory."""
    return environment.get("HEPSTACK_NODE_CACHE") or None


def cache_owner(environment: Mapping[str, str]) -> int | None:
    """The uid HEPSTACK_CACHE_OWNER names (a user name or a number), or None: the node cache is the user's."""
    from hepstack.errors import HepstackError

    text = environment.get("HEPSTACK_CACHE_OWNER", "").strip()
    if not text:
        return None
    if not environment.get("HEPSTACK_NODE_CACHE"):
        raise HepstackError(
            f"HEPSTACK_CACHE_OWNER={text} names the owner of a shared node cache, "
            "but HEPSTACK_NODE_CACHE, the cache, is not set",
            hint="set HEPSTACK_NODE_CACHE to the shared directory (e.g. /scratch/hepstack-cache), "
            "or unset HEPSTACK_CACHE_OWNER",
        )
    import pwd

    try:
        return int(text) if text.isascii() and text.isdigit() else pwd.getpwnam(text).pw_uid
    except KeyError:
        raise HepstackError(
            f"HEPSTACK_CACHE_OWNER={text}: no such user",
            hint="give the name or uid of the account that owns the shared node cache",
        ) from None
