"""Harmonize a melody: the given voice is fixed, the model writes the other three.

The model is left-to-right, so "conditioning" on a melody is just forcing: at every step
the given voice's token is fed as it is and only the other voices are sampled (see
`chorale.sampling.sample.sample`). The model never sees the melody ahead of the current step, so
K candidates are sampled in one batch and the one with the fewest voice-leading errors
(ties: the highest log-likelihood per sampled note) is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chorale import ChoraleError
from chorale.encoding import N_VOICES, REST, UNSAMPLED, VOICES, Vocabulary, note_name
from chorale.model.plan import Plan
from chorale.music import voice_leading_errors
from chorale.sampling.sample import Controls, sample


@dataclass(frozen=True)
class Harmonization:
    grid: np.ndarray  # (steps, 4) the chosen candidate
    chosen: int  # its index among the candidates
    logliks: np.ndarray  # (K,) mean log-likelihood per sampled note of each candidate
    errors: np.ndarray  # (K,) voice-leading errors of each candidate


def read_line(path, part=None) -> tuple[np.ndarray, tuple[int, ...]]:
    """(one melodic line (steps,) quantized to 16ths without leading or trailing silence, the
    steps of that line where a fermata starts: MusicXML marks them, MIDI and CSV cannot).

    Unlike `chorale.io.midi.read_melody`'s default, which keeps a chord's top note, a chord is
    an error here: a harmonization of the top note alone would silently drop the user's notes.
    """
    from chorale.io.midi import read_melody_with_fermatas

    melody, fermatas = read_melody_with_fermatas(path, part)
    return trimmed(melody, fermatas, f"{path}: the melody has no notes")


def trimmed(line, fermatas, empty: str) -> tuple[np.ndarray, tuple[int, ...]]:
    """(`line` without leading or trailing rests, `fermatas` moved with it and cut to it);
    a line of rests only is the error `empty`."""
    line = np.asarray(line)
    sung = np.flatnonzero(line != REST)
    if not sung.size:
        raise ChoraleError(empty)
    first, last = sung[0], sung[-1]
    return line[first: last + 1].astype(np.int32), tuple(int(f - first) for f in fermatas if first <= f <= last)


def fit_range(melody: np.ndarray, low: int, high: int, voice: str = "soprano") -> tuple[np.ndarray, int]:
    """(melody moved into low..high, semitones moved). Octaves first, since they keep the key;
    otherwise the smallest shift. A melody wider than the range is an error."""
    sung = melody[melody != REST]
    top, bottom = int(sung.max()), int(sung.min())
    if top - bottom > high - low:
        raise ChoraleError(f"the melody spans {note_name(bottom)}..{note_name(top)} ({top - bottom} semitones), "
                           f"wider than the model's {voice} range {note_name(low)}..{note_name(high)} "
                           f"({high - low} semitones)")
    fits = list(range(low - bottom, high - top + 1))
    octaves = [k for k in fits if k % 12 == 0]
    shift = min(octaves or fits, key=abs)
    return np.where(melody != REST, melody + shift, REST), shift


def forced_tokens(melody: np.ndarray, voice: int, vocab: Vocabulary, voice_ranges) -> np.ndarray:
    """(steps * 4,) tokens: the melody's in its voice's slots, UNSAMPLED elsewhere.

    The sampler needs the very first token (the soprano's) given. When the melody is in
    another voice, the soprano starts on the melody's first pitch class, in the octave
    (above the melody's note) nearest the middle of the soprano range: a doubling,
    consonant with whatever follows.
    """
    grid = np.zeros((len(melody), N_VOICES), np.int32)
    grid[:, voice] = melody
    tokens = np.full(grid.size, UNSAMPLED, np.int64)
    tokens[voice::N_VOICES] = vocab.encode(grid)[voice::N_VOICES]
    if voice != 0:
        low, high = voice_ranges[0]
        middle = (low + high) / 2
        doublings = [p for p in range(max(low, int(melody[0])), high + 1) if p % 12 == melody[0] % 12]
        first = min(doublings, key=lambda p: abs(p - middle)) if doublings else round(middle)
        tokens[0] = vocab.encode(np.array([[first, 0, 0, 0]]))[0]
    return tokens


def best_candidate(errors, logliks) -> int:
    """Index of the candidate with the fewest voice-leading errors; ties go to the highest
    log-likelihood, then to the first."""
    return min(range(len(errors)), key=lambda i: (errors[i], -logliks[i], i))


def harmonize(model, vocab: Vocabulary, melody: np.ndarray, voice: str, voice_ranges, candidates: int,
              seed: int, temperature: float = 1.0, voice_leading: bool = True, plan: Plan | None = None,
              progress=None) -> Harmonization:
    """Sample `candidates` harmonizations of `melody` (already in range) in one batch; keep the best.

    `plan`: the key, fermatas and length the model is told (None: nothing known; see
    `chorale.sampling.sample.sample`).

    Candidate i uses seed + i, so the same seed gives the same result. `voice_leading`: the
    sampler's guard against parallel fifths and octaves, and hidden ones between soprano
    and bass (see `chorale.sampling.sample.sample`).
    """
    v = VOICES.index(voice)
    tokens = forced_tokens(melody, v, vocab, voice_ranges)
    controls = Controls(temperature=temperature, voice_ranges=np.asarray(voice_ranges), voice_leading=voice_leading)
    sampled, logliks = sample(model, vocab, np.tile(tokens, (candidates, 1)),
                              [seed + i for i in range(candidates)], controls, progress,
                              None if plan is None else [plan] * candidates)
    grids = [vocab.decode(row) for row in sampled]
    errors = np.array([voice_leading_errors(g) for g in grids])
    chosen = best_candidate(errors, logliks)
    return Harmonization(grids[chosen], chosen, logliks, errors)
