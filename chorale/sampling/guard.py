"""The voice-leading guard: which notes would complete a parallel or hidden fifth or octave,
or cross a voice.

The sampler asks it for each sampled note (see `chorale.sampling.sample.sample`); it counts
exactly what `chorale.music` counts, so a guarded sample has none of these faults.
"""

from __future__ import annotations

import numpy as np

from chorale.encoding import N_VOICES, REST
from chorale.music import FIFTH, OCTAVE, OUTER, SOPRANO_STEP

PERFECT = np.isin(np.arange(12), (FIFTH, OCTAVE))  # by interval class: fifths and octaves (unisons)
OTHER_VOICES = ~np.eye(N_VOICES, dtype=bool)


def fault_kinds(previous: np.ndarray, current: np.ndarray, voice: int, candidates: np.ndarray) -> tuple:
    """(parallel, hidden, crossing): each (batch, n), what `forbidden_tokens` finds, kind by kind."""
    return (_parallel(previous, current, voice, candidates), _hidden(previous, current, voice, candidates),
            _crossing(current, voice, candidates))


def forbidden_tokens(previous: np.ndarray, current: np.ndarray, voice: int, candidates: np.ndarray) -> np.ndarray:
    """(batch, n) whether `voice` singing each of `candidates` ((batch or 1, n) tokens) would
    complete, as `chorale.music` counts them, a parallel fifth or octave with another voice
    whose token in the chord being written is already known, or a hidden one between the
    soprano and the bass, or cross a voice already known in that chord.

    previous, current: (batch, 4) tokens of the last chord and of the chord being written
    (-1: not decided yet). Tokens differ by the same semitones as their pitches. Comparing
    with the previous step is exactly music.py's comparison with the previous chord change:
    a pair that moves changes the chord, and the chord it leaves is the previous step.
    """
    return (_parallel(previous, current, voice, candidates) | _hidden(previous, current, voice, candidates)
            | _crossing(current, voice, candidates))


def _crossing(current, voice, candidates):
    """The note would sound above a higher voice, or below a lower one, already known in
    its chord: a crossed chord, as `chorale.music` counts them."""
    sung = current > REST
    above = np.where(sung[:, :voice], current[:, :voice], np.iinfo(current.dtype).max).min(axis=1, initial=np.iinfo(current.dtype).max)
    below = np.where(sung[:, voice + 1:], current[:, voice + 1:], -1).max(axis=1, initial=-1)
    return (candidates > REST) & ((candidates > above[:, None]) | (candidates < below[:, None]))


def _parallel(previous, current, voice, candidates):
    here = previous[:, voice, None]
    before = np.abs(previous - here) % 12
    moved = ((current > REST) & (current != previous) & PERFECT[before] & (previous > REST) & (here > REST)
             & OTHER_VOICES[voice])
    if not moved.any():  # no voice could make one with it: the common case, made cheap
        return np.zeros(np.broadcast_shapes(here.shape, candidates.shape), bool)
    after = np.abs(current[:, :, None] - candidates[:, None, :]) % 12
    parallel = (moved[:, :, None] & (after == before[:, :, None])).any(axis=1)
    return parallel & (candidates > REST) & (candidates != here)  # a held note is oblique motion


def _hidden(previous, current, voice, candidates):
    """Soprano and bass reach a fifth or octave (from another interval) in similar motion,
    the soprano by a leap."""
    shape = np.broadcast_shapes(previous[:, :1].shape, candidates.shape)
    if voice not in OUTER:
        return np.zeros(shape, bool)
    other = OUTER[1] if voice == OUTER[0] else OUTER[0]
    here, there = previous[:, voice, None], previous[:, other, None]
    other_move = current[:, other, None] - there
    known = (current[:, other, None] > REST) & (there > REST) & (here > REST) & (other_move != 0)
    if not known.any():
        return np.zeros(shape, bool)
    move = candidates - here
    soprano_move = move if voice == OUTER[0] else other_move
    before = np.abs(here - there) % 12
    after = np.abs(candidates - current[:, other, None]) % 12
    return (known & (candidates > REST) & (np.sign(move) == np.sign(other_move)) & PERFECT[after]
            & (after != before) & (np.abs(soprano_move) > SOPRANO_STEP))
