"""Crumbs: the event ranges of one chunk that recon processes as separate jobs, sized as L1Proc sizes them.

Fermi's L1Proc (github.com/fermi-lat/L1Pipeline, ``crumble.py``: ``crumble = crumble_exp_old``, and
``config.py``: ``maxCrumbs = 45``, ``crumbSize = 1500``, ``crumbMmr = 1.5``, values since L1Proc 5.2,
2015) cuts a chunk of ``total`` events into::

    nCrumbs = min(maxCrumbs, max(1, floor(total / crumbSize)))
    factor  = exp(-log(crumbMmr) / nCrumbs)
    scales  = [factor ** i for i in range(nCrumbs)], reversed      # smallest first, the last is 1
    sizes   = [ceil(total / sum(scales) * s) for s in scales]

so the sizes grow geometrically by ``crumbMmr ** (1 / nCrumbs)`` from crumb to crumb and the largest
is ``crumbMmr ** ((nCrumbs - 1) / nCrumbs)`` times the smallest (1.486 for 45 crumbs, 1.22 for 2; the
comment in config.py calls crumbMmr "largestCrumb / smallestCrumb").  Small crumbs come first: they
finish early and let the merge of the chunk start sooner.  Two differences here, both on purpose:

* L1Proc rounds every size up, so the sizes add up to as many as ``nCrumbs - 1`` events more than the
  chunk and the last crumb's range runs past its end (``TTree::CopyTree`` stops there).  Here the
  sizes are rounded down and the events left over go one each to the largest crumbs: the ranges
  cover the chunk exactly, sizes never decrease, and each is within one event of L1Proc's real value.
* ``exp`` and ``log`` come from :mod:`decimal` (correctly rounded, in software), not from the C
  library, so the plan is the same on every host, whatever its libm (see README, Reproducibility).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext

L1PROC_CRUMB_EVENTS = 1500  # config.crumbSize: the smallest average crumb (chunk events / crumbs)
L1PROC_MAX_CRUMBS = 45  # config.maxCrumbs
L1PROC_CRUMB_RATIO = "1.5"  # config.crumbMmr
MAX_CRUMBS_LIMIT = 99  # crumb tags have two digits (k00 .. k98)
MAX_RATIO = Decimal(4)  # with min_events >= 10 the smallest crumb is then >= 2.5 events: none is empty
MIN_CRUMB_EVENTS = 10


@dataclass(frozen=True)
class CrumbRules:
    """L1Proc's three crumb parameters; the defaults are L1Proc's.

    >>> CrumbRules().count(67500), CrumbRules(min_events=100).count(250)
    (45, 2)
    """

    min_events: int = L1PROC_CRUMB_EVENTS
    max_crumbs: int = L1PROC_MAX_CRUMBS
    ratio: str = L1PROC_CRUMB_RATIO

    def __post_init__(self) -> None:
        if self.min_events < MIN_CRUMB_EVENTS:
            raise ValueError(f"crumb events {self.min_events}: must be at least {MIN_CRUMB_EVENTS}")
        if not 1 <= self.max_crumbs <= MAX_CRUMBS_LIMIT:
            raise ValueError(f"max crumbs {self.max_crumbs}: must be 1 to {MAX_CRUMBS_LIMIT}")
        try:
            ratio = Decimal(self.ratio)
        except InvalidOperation:
            raise ValueError(f"crumb ratio {self.ratio!r}: not a number") from None
        if not (ratio.is_finite() and 1 <= ratio <= MAX_RATIO):
            raise ValueError(f"crumb ratio {self.ratio}: must be 1 to {MAX_RATIO} (largest / smallest)")

    def count(self, events: int) -> int:
        return min(self.max_crumbs, max(1, events // self.min_events))

    def sizes(self, events: int) -> list[int]:
        """Events per crumb, smallest first; they add up to ``events``."""
        if events < 1:
            raise ValueError(f"a chunk of {events} events has no crumbs")
        n = self.count(events)
        with localcontext() as context:
            context.prec = 40
            factor = (-Decimal(self.ratio).ln() / n).exp()
            scales = [Decimal(1)]
            for _ in range(n - 1):
                scales.append(scales[-1] * factor)
            scales.reverse()
            total = sum(scales)
            sizes = [int(events * scale / total) for scale in scales]  # int() rounds towards zero: down
        left_over = events - sum(sizes)  # 0 <= left_over < n
        for index in range(n - left_over, n):
            sizes[index] += 1
        return sizes

    def ranges(self, events: int) -> list[tuple[int, int]]:
        """The crumbs as entry ranges ``[first, last)`` that cover ``range(events)`` in order.

        >>> CrumbRules().ranges(3000)
        [(0, 1348), (1348, 3000)]
        """
        edges = [0]
        for size in self.sizes(events):
            edges.append(edges[-1] + size)
        return list(zip(edges[:-1], edges[1:]))
