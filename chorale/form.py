"""The form a user asks for, turned into the plan the model follows (`chorale.model.plan`).

A chorale is sung in phrases that end at fermatas, in one home key, and ends on a held
chord. `chorale generate` plans all of it before the first note: the key (asked for, the
primer's, or drawn by the seed from the keys Bach used), the fermatas (one every two bars
as Bach writes them, or at the bars asked for, and always on the last chord) and the
length. NumPy only.
"""

from __future__ import annotations

import numpy as np

from chorale import ChoraleError
from chorale.checks import bar_numbers
from chorale.encoding import STEPS_PER_BAR
from chorale.data.loader import bach_keys
from chorale.keys import best_key, parse_key

PHRASE_STEPS = 2 * STEPS_PER_BAR  # Bach's fermatas come every 8 quarters at the median (reference.md)
FERMATA_STEP = 12  # where in its bar a phrase's last chord starts: beat 4, the most common place in
# the bundled data (most chorales open with a one-beat pickup, so their bar lines fall on beat 2 of ours)


def resolve_key(key: str | None, primer: np.ndarray, seed: int, ending: int | None = None) -> tuple[int, str]:
    """The piece's key: `key` when given; else the one the primer's notes fit best (for a
    whole melody, `ending` is its last pitch, the tonic: see keys.best_key); else,
    with nothing to go by, one of the keys Bach used, drawn by the seed as often as he used
    it."""
    if key is not None:
        return parse_key(key)
    found = best_key(primer, ending)
    if found is not None:
        return found[:2]
    keys = bach_keys()
    names = sorted(keys)
    weights = np.array([keys[k] for k in names], float)
    return names[np.random.default_rng(seed).choice(len(names), p=weights / weights.sum())]


def fermata_steps(bars, steps: int, phase: int = FERMATA_STEP) -> tuple[int, ...]:
    """Grid steps of the fermatas: in each of `bars` (1-based bar numbers; None: every second
    bar) at `phase` steps into the bar, and always on the last chord."""
    last_bar = -(-steps // STEPS_PER_BAR)
    if bars is None:
        chosen = list(range(STEPS_PER_BAR + phase, steps, PHRASE_STEPS))  # bars 2, 4, 6, ...
    else:
        bars = parse_bars_list(bars)
        outside = [b for b in bars if not 1 <= b <= last_bar]
        if outside:
            raise ChoraleError(f"fermata bar {outside[0]} is outside the piece (bars 1-{last_bar})")
        chosen = [(b - 1) * STEPS_PER_BAR + phase % STEPS_PER_BAR for b in bars]
    return tuple(sorted({s for s in chosen if s < steps - STEPS_PER_BAR // 2} | {steps - 1}))


def parse_bars_list(bars) -> list[int]:
    """Bar numbers from a list or from text such as "2,4,6"; they must increase (chorale.checks)."""
    return bar_numbers("fermatas", bars)
