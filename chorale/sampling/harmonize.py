"""Harmonize a melody: the given voice is fixed, the model writes the other three.

The melody's tokens are given to the sampler (`chorale.sampling.sample.sample`): a model
with look-ahead reads the whole melody before it writes a note, so it can prepare a
cadence before the melody gets there; at every step the given voice's token is fed as it
is and only the other voices are sampled. K candidates are sampled in one batch and the
one with the fewest voice-leading errors (then the fewest missed cadences, then the
highest log-likelihood per sampled note) is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chorale import ChoraleError
from chorale.encoding import N_VOICES, REST, UNSAMPLED, VOICES, Vocabulary, note_name
from chorale.limits import BATCH_CELLS
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

    Unlike `chorale.io.scores.read_melody`'s default, which keeps a chord's top note, a chord is
    an error here: a harmonization of the top note alone would silently drop the user's notes.
    """
    from chorale.io.scores import read_melody_with_fermatas

    melody, fermatas = read_melody_with_fermatas(path, part)
    return trimmed(melody, fermatas, f"{path}: the melody has no notes")


def trimmed(line, fermatas, empty: str) -> tuple[np.ndarray, tuple[int, ...]]:
    """(`line` (steps,), or lines (steps, k), without the leading or trailing steps where
    nothing is sung, `fermatas` moved with it and cut to it); nothing sung is the error `empty`."""
    line = np.asarray(line)
    sung = np.flatnonzero((line != REST).reshape(len(line), -1).any(axis=1))
    if not sung.size:
        raise ChoraleError(empty)
    first, last = sung[0], sung[-1]
    return line[first: last + 1].astype(np.int32), tuple(int(f - first) for f in fermatas if first <= f <= last)


def fit_range(melody: np.ndarray, low, high, voice="soprano") -> tuple[np.ndarray, int]:
    """(melody moved into low..high, semitones moved). Octaves first, since they keep the key;
    otherwise the smallest shift. A melody wider than the range is an error.

    Several lines (steps, k), sung by the k voices `voice` names, with a low and high each,
    move together, by one shift that fits them all."""
    lines = np.asarray(melody).reshape(len(melody), -1)
    names, lows, highs = np.atleast_1d(voice), np.atleast_1d(low), np.atleast_1d(high)
    fits = None
    for line, name, lo, hi in zip(lines.T, names, lows, highs):
        sung = line[line != REST]
        top, bottom = int(sung.max()), int(sung.min())
        if top - bottom > hi - lo:
            raise ChoraleError(f"the {'melody' if len(names) == 1 else name} spans {note_name(bottom)}..{note_name(top)} "
                               f"({top - bottom} semitones), wider than the model's {name} range "
                               f"{note_name(lo)}..{note_name(hi)} ({hi - lo} semitones)")
        these = set(range(lo - bottom, hi - top + 1))
        fits = these if fits is None else fits & these
    if not fits:
        raise ChoraleError(f"no transposition fits the {' and '.join(names)} into the model's ranges together")
    octaves = [k for k in fits if k % 12 == 0]
    shift = min(sorted(octaves or fits), key=abs)
    return np.where(melody != REST, melody + shift, REST), shift


def forced_tokens(melody: np.ndarray, voice, vocab: Vocabulary, voice_ranges) -> np.ndarray:
    """(steps * 4,) tokens: the melody's in its voice's slots (several lines (steps, k): each
    in the slots of its voice in the list `voice`), UNSAMPLED elsewhere.

    The sampler needs the very first token (the soprano's) given. When the soprano is not
    given, it starts on the first given pitch class, in the octave (above that note)
    nearest the middle of the soprano range: a doubling, consonant with whatever follows.
    """
    voices = list(np.atleast_1d(voice))
    lines = np.asarray(melody).reshape(len(melody), -1)
    grid = np.zeros((len(lines), N_VOICES), np.int32)
    grid[:, voices] = lines
    tokens = np.full(grid.size, UNSAMPLED, np.int64)
    encoded = vocab.encode(grid)
    for v in voices:
        tokens[v::N_VOICES] = encoded[v::N_VOICES]
    if 0 not in voices:
        low, high = voice_ranges[0]
        middle = (low + high) / 2
        note = int(lines[0][lines[0] != REST][0])
        doublings = [p for p in range(max(low, note), high + 1) if p % 12 == note % 12]
        first = min(doublings, key=lambda p: abs(p - middle)) if doublings else round(middle)
        tokens[0] = vocab.encode(np.array([[first, 0, 0, 0]]))[0]
    return tokens


def best_candidate(errors, logliks, misses=None) -> int:
    """Index of the candidate with the fewest voice-leading errors, then (with `misses`) the
    fewest missed cadences; ties go to the highest log-likelihood, then to the first."""
    misses = np.zeros(len(errors)) if misses is None else misses
    return min(range(len(errors)), key=lambda i: _rank(errors[i], misses[i], logliks[i], i))


def _rank(errors, missed, loglik, index) -> tuple:
    return errors, missed, -loglik, index


def missed_cadence(grid: np.ndarray, plan: Plan | None) -> bool:
    """Whether a planned piece's last bass note is off its key's tonic. The sampler draws the
    final bass from the tonic, but the voice-leading guard outranks that when the voices
    written before the bass in its chord leave only a parallel there; another candidate
    usually closes as planned."""
    if plan is None or plan.key is None:
        return False
    bass = grid[:, N_VOICES - 1][grid[:, N_VOICES - 1] != REST]
    return bool(bass.size) and bass[-1] % 12 != plan.key[0]


def harmonize(model, vocab: Vocabulary, melody: np.ndarray, voice, voice_ranges, candidates: int,
              seed: int, temperature: float = 1.0, voice_leading: bool = True, plan: Plan | None = None,
              progress=None, shaping: dict | None = None) -> Harmonization:
    """Sample `candidates` harmonizations of `melody` (already in range) in one batch; keep the best.
    `melody` is one line (steps,) sung by `voice`, or lines (steps, k) sung by the k voices
    of the list `voice`; the model writes the others.

    `plan`: the key, fermatas and length the model is told (None: nothing known; see
    `chorale.sampling.sample.sample`).

    Candidate i uses seed + i, so the same seed gives the same result. `voice_leading`: the
    sampler's guard against parallel fifths and octaves, and hidden ones between soprano
    and bass (see `chorale.sampling.sample.sample`); `shaping`: Controls' metre, harmony and tolerance.
    """
    voices = [VOICES.index(v) for v in ([voice] if isinstance(voice, str) else voice)]
    tokens = forced_tokens(melody, voices, vocab, voice_ranges)
    controls = Controls(temperature=temperature, voice_ranges=np.asarray(voice_ranges), voice_leading=voice_leading,
                        **(shaping or {}))
    return best_of(model, vocab, tokens, candidates, seed, controls, plan, progress)


MARGIN = 16  # steps around the written ones where a candidate's voice-leading faults are counted


def best_of(model, vocab: Vocabulary, tokens: np.ndarray, candidates: int, seed: int, controls: Controls,
            plan: Plan | None = None, progress=None, lead: int = 0) -> Harmonization:
    """Sample `candidates` completions of the token row `tokens` (UNSAMPLED where to write;
    candidate i uses seed + i) and keep the best (`best_candidate`). They are sampled in
    batches of at most limits.BATCH_CELLS tokens, keeping only the best so far, so memory
    grows with the batch, not with candidates x length; batching never changes the music.
    A candidate's voice-leading faults are counted where candidates differ (the written
    steps and MARGIN around them) plus what the rest of the piece holds, the same for all.
    `lead`: rest chords the sampler starts from, dropped from each grid."""
    length = len(tokens)
    size = max(1, min(candidates, BATCH_CELLS // max(length, 1)))
    written = np.flatnonzero(tokens == UNSAMPLED) // N_VOICES - lead
    low, high = (max(0, int(written[0]) - MARGIN), int(written[-1]) + MARGIN + 1) if written.size else (0, length)
    rest_of_piece = None
    report = _shared(progress, -(-candidates // size), length - 1)
    best, logliks, errors = None, [], []
    for first in range(0, candidates, size):
        batch = min(size, candidates - first)
        sampled, batch_logliks = sample(model, vocab, np.tile(tokens, (batch, 1)),
                                        [seed + first + i for i in range(batch)], controls, report,
                                        None if plan is None else [plan] * batch)
        for i, (row, loglik) in enumerate(zip(sampled, batch_logliks)):
            grid = vocab.decode(row)[lead:]
            if rest_of_piece is None:  # faults outside the window: every candidate shares them
                rest_of_piece = voice_leading_errors(grid) - voice_leading_errors(grid[low:high])
            error = rest_of_piece + voice_leading_errors(grid[low:high])
            rank = _rank(error, missed_cadence(grid, plan), loglik, first + i)
            if best is None or rank < best[0]:
                best = (rank, grid)
            logliks.append(loglik)
            errors.append(error)
    if report is not None:
        report(None)
    return Harmonization(best[1], best[0][-1], np.array(logliks), np.array(errors))


def _shared(progress, batches: int, total: int):
    """progress(tokens) for `batches` passes of `total` tokens each, reported as one pass of
    `total` (called with None at the end: whatever rounding left is reported then)."""
    if progress is None:
        return None
    state = {"done": 0.0, "told": 0}

    def report(tokens):
        state["done"] = total if tokens is None else state["done"] + tokens / batches
        now = min(total, int(state["done"]))
        if now > state["told"]:
            progress(now - state["told"])
            state["told"] = now
    return report
