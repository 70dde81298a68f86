"""Which cells of a piece are known: what the look-ahead encoder reads.

A cell is one voice at one step (one token). Known cells are given to the model before it
writes a note (a melody to harmonize, the music around a region to regenerate, a primer);
the encoder (chorale.model.networks.LookAhead) reads them in both directions, every other
cell as "unknown". Training draws one of these masks per window, and the loss counts only
the unknown cells, the ones the model would have to write:

- nothing: free writing;
- voice: one voice known (any of S, A, T, B), a melody to harmonize;
- voices: two voices known;
- region: a run of steps unknown in some voices (all four, half the time), everything else
  known: a region to regenerate; a quarter of regions run to the window's end, as the
  continuation of a primer does;
- cells: each cell unknown with its own probability, drawn per window.

`known_ids` is the one encoding of known cells, for training, evaluation and sampling alike.
"""

from __future__ import annotations

import numpy as np

from chorale.encoding import N_VOICES

KINDS = ("nothing", "voice", "voices", "region", "cells")
WEIGHTS = (0.3, 0.25, 0.1, 0.25, 0.1)  # how often training draws each kind
REGION_STEPS = (4, 32)  # the shortest and longest region, in steps (a beat to two bars)


def known_ids(tokens: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The encoder's input: token + 1 where the cell is known, 0 where it is not. The value of
    an unknown cell never reaches the model."""
    return np.where(known, np.asarray(tokens) + 1, 0).astype(np.int32)


def random_known(windows: int, steps: int, rng: np.random.Generator) -> np.ndarray:
    """(windows, steps * 4) bool: one mask of a kind drawn from KINDS per window."""
    known = np.zeros((windows, steps, N_VOICES), bool)
    kinds = rng.choice(len(KINDS), size=windows, p=WEIGHTS)
    for i, kind in enumerate(kinds):
        name = KINDS[kind]
        if name == "voice":
            known[i, :, rng.integers(N_VOICES)] = True
        elif name == "voices":
            known[i, :, rng.choice(N_VOICES, 2, replace=False)] = True
        elif name == "region":
            size = int(rng.integers(REGION_STEPS[0], min(REGION_STEPS[1], steps) + 1))
            start = steps - size if rng.random() < 0.25 else int(rng.integers(0, steps - size + 1))
            voices = np.ones(N_VOICES, bool) if rng.random() < 0.5 else _some_voices(rng)
            known[i] = True
            known[i, start:start + size, voices] = False
        elif name == "cells":
            known[i] = rng.random((steps, N_VOICES)) >= rng.uniform(0.1, 0.9)
    return known.reshape(windows, steps * N_VOICES)


def _some_voices(rng) -> np.ndarray:
    """A random non-empty subset of the voices."""
    while True:
        voices = rng.random(N_VOICES) < 0.5
        if voices.any():
            return voices
