"""Drawing from the one seeded generator: uniform picks, integers and weighted choices.

``Random.choice``, ``randrange`` and ``choices`` validate their arguments on every
call; at a few million draws for the benchmark fixture that is a third of the run, so
the hot paths use ``random()`` directly. The results stay a pure function of the seed.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from typing import TypeVar

_T = TypeVar("_T")


def below(rng: random.Random, n: int) -> int:
    """An integer from 0 to ``n - 1``."""
    return int(rng.random() * n)


def pick(rng: random.Random, pool: Sequence[_T]) -> _T:
    """One item of ``pool``, uniformly."""
    return pool[int(rng.random() * len(pool))]


def weighted(rng: random.Random, values: Sequence[_T], cumulative: Sequence[float]) -> _T:
    """One of ``values``, weighted by the running totals ``cumulative``."""
    return values[bisect_right(cumulative, rng.random() * cumulative[-1])]
