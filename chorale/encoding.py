"""The token encoding: the one place that knows how chords become tokens and back.

A chorale is an integer array of shape (steps, 4): one row per 16th note, the columns
soprano, alto, tenor, bass, each a MIDI pitch or 0 for a rest. The models see it as a
flat sequence of 4 tokens per step (S, A, T, B, S, A, T, B, ...), where 0 is a rest and
pitches low..high map to 1..high-low+1. Data, training, sampling and MIDI all use this
module, and the vocabulary is saved with every model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chorale import ChoraleError

VOICES = ("soprano", "alto", "tenor", "bass")
N_VOICES = len(VOICES)
COLUMNS = tuple(f"note{i}" for i in range(N_VOICES))
REST = 0
UNSAMPLED = -1  # in a token array given to the sampler: a token it must write (>= 0: given)
MIDI_LOW, MIDI_HIGH = 21, 108  # the piano range: any other nonzero pitch is bad data
STEPS_PER_QUARTER = 4  # the grid is in 16th notes
STEPS_PER_BAR = 4 * STEPS_PER_QUARTER  # the grid carries no meter: bars are 4/4 (MIDI, bar-position embedding)
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def note_name(pitch: int) -> str:
    """MIDI pitch -> scientific pitch name (60 -> C4), for messages a musician reads."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


@dataclass(frozen=True)
class Vocabulary:
    """Pitches low..high (inclusive) plus the rest token 0."""

    low: int = 36
    high: int = 81

    @property
    def size(self) -> int:
        return self.high - self.low + 2

    @classmethod
    def fit(cls, chorales) -> Vocabulary:
        """The smallest vocabulary covering every pitch in `chorales` (arrays of shape (steps, 4))."""
        pitches = np.concatenate([np.asarray(c).ravel() for c in chorales])
        pitches = pitches[pitches != REST]
        if pitches.size == 0:
            raise ChoraleError("cannot fit a vocabulary: the chorales contain only rests")
        return cls(int(pitches.min()), int(pitches.max()))

    def encode(self, chords: np.ndarray) -> np.ndarray:
        """(steps, 4) pitches -> (steps * 4,) tokens, voices interleaved S, A, T, B per step."""
        chords = np.asarray(chords)
        notes = chords[chords != REST]
        if notes.size and (notes.min() < self.low or notes.max() > self.high):
            bad = notes[(notes < self.low) | (notes > self.high)][0]
            raise ChoraleError(
                f"pitch {int(bad)} ({note_name(int(bad))}) is outside the model's range "
                f"{self.low}..{self.high} ({note_name(self.low)}..{note_name(self.high)})"
            )
        tokens = np.where(chords == REST, 0, chords - self.low + 1)
        return tokens.reshape(-1).astype(np.int32)

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        """(steps * 4,) tokens -> (steps, 4) pitches; a trailing partial step is dropped."""
        tokens = np.asarray(tokens)
        tokens = tokens[: len(tokens) // N_VOICES * N_VOICES]
        if tokens.size and (tokens.min() < 0 or tokens.max() >= self.size):
            raise ChoraleError(f"token outside the vocabulary 0..{self.size - 1}")
        pitches = np.where(tokens == 0, REST, tokens + self.low - 1)
        return pitches.reshape(-1, N_VOICES).astype(np.int32)

    def to_dict(self) -> dict:
        return {"low": self.low, "high": self.high, "size": self.size, "rest": REST}

    @classmethod
    def from_dict(cls, d: dict) -> Vocabulary:
        return cls(int(d["low"]), int(d["high"]))


def voice_ranges(chorales) -> np.ndarray:
    """(4, 2) array of the lowest and highest pitch each voice sings in `chorales`."""
    stacked = np.concatenate([np.asarray(c) for c in chorales])
    ranges = np.zeros((N_VOICES, 2), dtype=np.int32)
    for v in range(N_VOICES):
        sung = stacked[:, v][stacked[:, v] != REST]
        ranges[v] = (sung.min(), sung.max()) if sung.size else (0, 0)
    return ranges


def runs(line) -> list[tuple[int, int, int]]:
    """(start, end, pitch) of each run of equal values in one voice, rests included: the
    grid cannot tell a held note from a re-struck one, so a run is one note."""
    line = np.asarray(line)
    if len(line) == 0:
        return []
    edges = np.flatnonzero(np.diff(line)) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [len(line)]])
    return [(int(s), int(e), int(line[s])) for s, e in zip(starts, ends)]


def is_pitch(values) -> np.ndarray:
    """Whether each value is a rest or a MIDI pitch the grid may hold: the one pitch rule."""
    values = np.asarray(values)
    return (values == REST) | ((values >= MIDI_LOW) & (values <= MIDI_HIGH))


def check_grid(grid) -> np.ndarray:
    """`grid` as int32 if it is a (steps, 4) array of rests and MIDI pitches, else a ChoraleError."""
    grid = np.asarray(grid)
    if grid.ndim != 2 or grid.shape[1] != N_VOICES or len(grid) == 0:
        raise ChoraleError(f"a chorale is a (steps, {N_VOICES}) array of pitches; got shape {grid.shape}")
    if not np.issubdtype(grid.dtype, np.integer):
        if not np.issubdtype(grid.dtype, np.number) or not np.all(np.isfinite(grid)) or np.any(grid % 1):
            raise ChoraleError("a chorale's pitches must be whole MIDI note numbers")
    bad = ~is_pitch(grid)
    if bad.any():
        step, voice = np.argwhere(bad)[0]
        raise ChoraleError(f"{VOICES[voice]} pitch {grid[step, voice]} at step {step} is outside {MIDI_LOW}..{MIDI_HIGH}")
    return grid.astype(np.int32)
