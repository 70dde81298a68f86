"""The plan: what the model is told about the whole piece before it writes a note.

A `Plan` holds the key, the fermatas and the length of the piece; any part may be None
(unknown). `plan_rows` turns it into the integer ids the model's plan embeddings read,
one row per token; training and sampling both call it, so they cannot disagree. Each
part is hidden (id 0) in some training windows, so the same model runs with any part,
or all of it, unknown.

Row t goes with input position t, whose output predicts token t + 1: it describes the
step of the token being predicted, so the soprano of a chord already knows that its
chord starts a fermata. Columns:
- key: 0 unknown, 1 + mode * 12 + tonic (mode 0 major, 1 minor);
- fermata: 0 unknown, else the bucket of steps until the next fermata starts
  (0, 1-3, 4-7, 8-15, 16+ or none ahead): a cadence is prepared about a bar ahead;
- end: 0 unknown, else the bucket of steps to the final step (0, 1-3, 4-15, 16-31, 32-63,
  64-127, 128+): the final chord, beat, bar, two, four and eight bars, elsewhere. Bars
  near the end get their own ids because that is where chorales close in the home key.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chorale import ChoraleError
from chorale.encoding import N_VOICES
from chorale.keys import MODES

PLAN_VERSION = 1  # the card's "plan": 0 for a model trained without one
FERMATA_EDGES = (0, 1, 4, 8, 16)  # lower edges of the steps-to-next-fermata buckets
END_EDGES = (0, 1, 4, 16, 32, 64, 128)  # lower edges of the steps-to-end buckets
COLUMNS = ("key", "fermata", "end")
SIZES = (1 + 12 * len(MODES), 1 + len(FERMATA_EDGES), 1 + len(END_EDGES))  # ids per column, 0 = unknown
HIDE_ALL, HIDE = 0.5, 0.3  # training hides a window's whole plan, else each part, with these probabilities
FINAL_HOLD = 8  # steps (a half note) the final chord is held when the plan ends on a fermata


@dataclass(frozen=True)
class Plan:
    """What is known in advance about a piece; None: unknown."""

    key: tuple[int, str] | None = None  # (tonic pitch class 0..11, "major" | "minor")
    fermatas: tuple[int, ...] | None = None  # steps where a fermata chord starts; () = none
    length: int | None = None  # steps in the piece

    def __post_init__(self):
        if self.key is not None:
            tonic, mode = self.key
            if mode not in MODES or int(tonic) != tonic or not 0 <= tonic < 12:
                raise ChoraleError(f"bad key {self.key!r}: expected (tonic 0..11, 'major' or 'minor')")
        if self.length is not None and self.length < 1:
            raise ChoraleError(f"the plan's length must be at least 1 step, got {self.length}")
        if self.fermatas is not None:
            last = self.length if self.length is not None else np.inf
            if any(f < 0 or f >= last for f in self.fermatas):
                raise ChoraleError(f"fermatas {self.fermatas} must be steps inside the piece (0..{last - 1})")
            object.__setattr__(self, "fermatas", tuple(sorted(int(f) for f in self.fermatas)))


def _bucket(distance: np.ndarray, edges) -> np.ndarray:
    return np.searchsorted(edges, distance, side="right")  # 1 + index of the bucket: 0 stays "unknown"


def plan_rows(plan: Plan | None, steps: int) -> np.ndarray:
    """(steps * 4, len(COLUMNS)) int32 plan ids; row t describes the step of token t + 1
    (the last row, past the end, repeats the final step's)."""
    step = np.minimum(np.arange(1, steps * N_VOICES + 1) // N_VOICES, steps - 1)
    rows = np.zeros((steps * N_VOICES, len(COLUMNS)), np.int32)
    if plan is None:
        return rows
    if plan.key is not None:
        tonic, mode = plan.key
        rows[:, 0] = 1 + MODES.index(mode) * 12 + tonic
    if plan.fermatas is not None:
        starts = np.array(plan.fermatas + (np.iinfo(np.int32).max,))
        ahead = starts[np.searchsorted(starts, step)] - step  # to the next fermata at or after the step
        rows[:, 1] = _bucket(np.minimum(ahead, FERMATA_EDGES[-1]), FERMATA_EDGES)
    if plan.length is not None:
        rows[:, 2] = _bucket(np.maximum(plan.length - 1 - step, 0), END_EDGES)
    return rows


def transpose_rows(rows: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Plan rows (..., columns) of music moved by `shift` semitones (broadcast against
    rows[..., 0]): the key's tonic moves with the notes, everything else stays."""
    key = rows[..., 0]
    moved = np.where(key > 0, (key - 1) // 12 * 12 + (key - 1 + shift) % 12 + 1, 0)
    return np.concatenate([moved[..., None], rows[..., 1:]], axis=-1).astype(rows.dtype)


def hide(rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(windows, time, columns) rows with the whole plan of a window hidden (0) with
    probability HIDE_ALL, and else each column with probability HIDE: the model learns
    without any plan as much as a model without plan inputs, and every partial plan is in
    its training distribution."""
    keep = (rng.random((len(rows), 1, 1)) >= HIDE_ALL) & (rng.random((len(rows), 1, rows.shape[-1])) >= HIDE)
    return np.where(keep, rows, 0)


def ending(plan: Plan | None, steps: int) -> tuple[Plan | None, int | None]:
    """(plan, first held step): a plan whose last fermata is within the final FINAL_HOLD
    steps ends on a held chord: every step after the fermata repeats its chord. A fermata
    on the very last step (a user's "end on a held chord") is moved FINAL_HOLD steps
    earlier, where Bach's final chords start; the plan the model sees says so too."""
    if plan is None or not plan.fermatas or plan.fermatas[-1] < steps - FINAL_HOLD:
        return plan, None
    last = plan.fermatas[-1]
    if last == steps - 1 and steps > FINAL_HOLD:
        last = steps - FINAL_HOLD
        plan = Plan(plan.key, plan.fermatas[:-1] + (last,), plan.length)
    return plan, last + 1


def chorale_plan(chorale) -> Plan:
    """The plan of a real chorale (a dataset's chorale.Chorale): the key its notes fit best
    (keys.best_key, as every form measure judges keys; the manifest's written key differs
    for about one chorale in five, modal tunes under an older key signature, and would teach
    the model that "D minor" may sound in G minor); its fermatas (None when the data has
    none); its length."""
    from chorale.keys import best_key

    best = best_key(chorale.grid)
    return Plan(best[:2] if best else None, chorale.fermatas or None, len(chorale.grid))
