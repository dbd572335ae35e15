"""hepstack's directories, from the environment, as plain strings.

No pathlib here (its import is ~15 ms on these machines): the fast path of `hepstack run`
(:mod:`hepstack.launch_plan`) finds its cache with these few lookups. :class:`hepstack.context.Context`
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
