"""Readable style features of a passage: what a listener (or a classifier) hears.

Bach-or-not (benchmarks/bach_or_not.py) tells Bach's chorales from ours with a logistic
regression on these numbers, so each is a rate a musician can read: melodic intervals,
chord types and inversions, dissonance on and off the beat, rhythm against the metre,
motion between voice pairs, spacing. An excerpt is transposed to a common tonic first
(`normalized`), so the pitch-class features speak in scale degrees.

The grid's metre is its own: step t is (t % 16) sixteenths into a 4/4 bar, as the model
reads it, so an excerpt keeps the steps it had in its piece (`start`). NumPy only.
"""

from __future__ import annotations

import functools
from itertools import combinations

import numpy as np

from chorale.encoding import N_VOICES, REST, STEPS_PER_BAR, runs
from chorale.keys import best_key

VOICE_NAMES = ("S", "A", "T", "B")
PAIRS = tuple(combinations(range(N_VOICES), 2))
# chord templates: pitch classes above the root -> name (a root position is the bass on the root)
CHORDS = {
    (0, 4, 7): "major", (0, 3, 7): "minor", (0, 3, 6): "diminished", (0, 4, 8): "augmented",
    (0, 4, 7, 10): "dominant 7th", (0, 3, 7, 10): "minor 7th", (0, 3, 6, 10): "half-diminished 7th",
    (0, 3, 6, 9): "diminished 7th", (0, 4, 7, 11): "major 7th",
    (0, 4): "major, no 5th", (0, 3): "minor, no 5th", (0, 4, 10): "dominant 7th, no 5th", (0, 7): "open 5th",
}
CHORD_NAMES = tuple(dict.fromkeys(CHORDS.values())) + ("unison", "other")
INVERSIONS = ("root position", "6 (3rd in bass)", "6/4 (5th in bass)", "4/2 (7th in bass)")
DISSONANT = np.isin(np.arange(12), (1, 2, 6, 10, 11))  # interval classes above the bass; the 4th apart
LENGTHS = (1, 2, 3, 4, 6, 8, 12, 16)  # note lengths in 16ths; others count as "other"
INTERVALS = 13  # |melodic interval| 0..11 semitones, 12: an octave or more


def tonic_of(grid) -> int:
    """The tonic pitch class of a piece: the key its notes fit best (0 when silent)."""
    found = best_key(grid)
    return found[0] if found else 0


def normalized(grid, tonic: int) -> np.ndarray:
    """The grid moved to the tonic C by the smallest shift (-6..+5 semitones), so registers stay."""
    grid = np.asarray(grid)
    shift = (-tonic + 6) % 12 - 6
    return np.where(grid != REST, grid + shift, REST)


def onsets(grid) -> np.ndarray:
    """(steps, 4) whether a sung note starts at each step (a pitch differing from the step
    before; the grid cannot tell a repeated note from a held one). Nothing starts on the
    first step: an excerpt cannot tell a note begun there from one held into it."""
    grid = np.asarray(grid)
    changed = np.vstack([np.zeros((1, grid.shape[1]), bool), grid[1:] != grid[:-1]])
    return changed & (grid != REST)


def odd_onsets_per_bar(grids, starts=None) -> np.ndarray:
    """(4,) note onsets on odd 16ths (the second and fourth 16th of a beat) per bar, per voice,
    pooled over `grids` (each starting at step `starts[i]` of its piece, default 0)."""
    starts = [0] * len(grids) if starts is None else starts
    odd, bars = np.zeros(N_VOICES), 0.0
    for grid, start in zip(grids, starts):
        on = onsets(grid)
        step = start + np.arange(len(on))
        odd += on[step % 2 == 1].sum(axis=0)
        bars += len(on) / STEPS_PER_BAR
    return odd / max(bars, 1e-9)


def chord_kind(pitches) -> tuple[str, int | None, int | None]:
    """(chord name (CHORD_NAMES), root pitch class or None, inversion index or None) of the
    sung pitches of one chord; inversions index INVERSIONS."""
    sung = [int(p) for p in pitches if p != REST]
    if not sung:
        return "other", None, None
    bass = min(sung) % 12
    pcs = sorted({p % 12 for p in sung})
    if len(pcs) == 1:
        return "unison", pcs[0], 0
    for root in pcs:
        shape = tuple(sorted((p - root) % 12 for p in pcs))
        if shape in CHORDS:
            above = (bass - root) % 12
            inversion = 0 if above == 0 else 1 if above in (3, 4) else 2 if above in (6, 7, 8) else 3
            return CHORDS[shape], root, inversion
    return "other", None, None


@functools.cache
def sonority(pitch_classes: frozenset, bass: int) -> str:
    """"chord", "6/4" (a triad over its fifth) or "other" (no triad or seventh chord: a
    dissonance) for the pitch classes sounding over a bass pitch class; what the sampler's
    harmony penalty asks of the bass on a beat (`chorale.sampling.sample.harmony_penalty`)."""
    name, _, inversion = chord_kind([60 + bass, *(72 + pc for pc in pitch_classes)])
    return "other" if name == "other" else "6/4" if inversion == 2 and "7th" not in name else "chord"


def is_root_position_tonic(chord, tonic: int, mode: str) -> bool:
    """Whether a chord is the key's tonic triad with the tonic in the bass: every voice sings,
    root and third present (a minor key's chord may take the major third, the Picardy third),
    nothing outside the triad (the fifth may be left out, as Bach often does)."""
    chord = [int(p) for p in chord]
    if REST in chord:
        return False
    pcs = {(p - tonic) % 12 for p in chord}
    thirds = {4} if mode == "major" else {3, 4}
    return (min(chord) - tonic) % 12 == 0 and pcs <= {0, 7} | thirds and len(pcs & thirds) == 1


def final_chord_is_tonic(grid, key) -> bool:
    """Whether the last sung chord of a piece is a root-position tonic triad of `key`
    ((tonic, mode)), and its last bar holds no general rest (a step where nobody sings)."""
    grid = np.asarray(grid)
    sung = np.flatnonzero((grid != REST).any(axis=1))
    if not sung.size:
        return False
    last = grid[sung[-1]]
    bar = grid[max(0, sung[-1] + 1 - STEPS_PER_BAR): sung[-1] + 1]
    return is_root_position_tonic(last, *key) and bool((bar != REST).any(axis=1).all())


def _share(counts) -> np.ndarray:
    counts = np.asarray(counts, float)
    total = counts.sum(axis=-1, keepdims=True)
    return np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)


def features(grid, start: int = 0) -> tuple[np.ndarray, list[str]]:
    """(values, names): about 200 readable numbers of one excerpt, already in a common key
    (`normalized`); `start` is the excerpt's first step in its piece (its place in the bar)."""
    grid = np.asarray(grid)
    steps = start + np.arange(len(grid))
    bars = max(len(grid) / STEPS_PER_BAR, 1e-9)
    values, names = [], []

    def add(name, value):
        names.append(name)
        values.append(float(value))

    voice_notes = [runs(grid[:, v]) for v in range(N_VOICES)]
    for v, notes in enumerate(voice_notes):
        sung = [(s, e, p) for s, e, p in notes if p != REST]
        name = VOICE_NAMES[v]
        pcs = _share(np.bincount([p % 12 for _, _, p in sung], minlength=12)) if sung else np.zeros(12)
        for d in range(12):
            add(f"{name} degree {d} (semitones above tonic)", pcs[d])
        moves = [b[2] - a[2] for a, b in zip(notes, notes[1:]) if a[2] != REST and b[2] != REST]
        sizes = _share(np.bincount(np.minimum(np.abs(moves), 12), minlength=INTERVALS)) if moves else np.zeros(INTERVALS)
        for i in range(1, INTERVALS):
            add(f"{name} melodic interval {i}{'+' if i == 12 else ''} semitones", sizes[i])
        add(f"{name} melodic moves up (share)", np.mean(np.array(moves) > 0) if moves else 0)
        leaps = [(a, b) for a, b in zip(moves, moves[1:]) if abs(a) > 4]
        add(f"{name} leaps > 4 recovered by step back", np.mean([0 < abs(b) <= 2 and np.sign(b) != np.sign(a)
                                                                  for a, b in leaps]) if leaps else 0)
        lengths = [e - s for s, e, _ in sung]
        length_counts = [sum(n == k for n in lengths) for k in LENGTHS] + [sum(n not in LENGTHS for n in lengths)]
        for k, share in zip((*LENGTHS, "other"), _share(length_counts)):
            add(f"{name} notes {k} 16ths long", share)
        add(f"{name} notes per bar", len(sung) / bars)
        starts = np.array([start + s for s, _, _ in sung if s > 0], int)  # as `onsets`
        for phase, label in ((0, "on the beat"), (2, "on an off-beat 8th"), (1, "on an odd 16th")):
            hit = (starts % 2 == 1) if phase == 1 else (starts % 4 == phase)
            add(f"{name} onsets {label} per bar", hit.sum() / bars)
        long_off = [e - s >= 5 and (start + s) % 4 != 0 and s > 0 for s, e, _ in sung]
        add(f"{name} notes >= 5 16ths starting off the beat per bar", sum(long_off) / bars)
        add(f"{name} rest steps (share)", np.mean(grid[:, v] == REST))
        pitches = grid[:, v][grid[:, v] != REST]
        add(f"{name} mean pitch", pitches.mean() if pitches.size else 0)
        add(f"{name} pitch spread", pitches.std() if pitches.size else 0)

    # chords: each change of sonority once, and every beat
    change = np.concatenate([[True], (grid[1:] != grid[:-1]).any(axis=1)])
    full = (grid != REST).all(axis=1)
    kinds = [chord_kind(grid[i]) for i in range(len(grid))]
    counted = [kinds[i] for i in np.flatnonzero(change & full)]
    chord_counts = [sum(k[0] == name for k in counted) for name in CHORD_NAMES]
    for name, share in zip(CHORD_NAMES, _share(chord_counts)):
        add(f"chords: {name}", share)
    inversions = _share([sum(k[2] == i for k in counted if k[0] not in ("unison", "other")) for i in range(4)])
    for name, share in zip(INVERSIONS, inversions):
        add(f"chords in {name}", share)
    roots = _share(np.bincount([k[1] for k in counted if k[1] is not None], minlength=12)) if counted else np.zeros(12)
    for d in range(12):
        add(f"chord roots on degree {d}", roots[d])
    add("chord changes per bar", change.sum() / bars)
    add("chord changes on odd 16ths per bar", (change & (steps % 2 == 1))[1:].sum() / bars)
    add("steps with a general rest (share)", np.mean(~(grid != REST).any(axis=1)))
    add("steps with a voice resting (share)", np.mean(~full))

    # dissonance against the bass, by place in the bar; prepared (held in) and resolved (down by step)
    bass = grid[:, N_VOICES - 1]
    dissonant = np.zeros((len(grid), N_VOICES - 1), bool)
    for v in range(N_VOICES - 1):
        sung = (grid[:, v] != REST) & (bass != REST)
        dissonant[:, v] = sung & DISSONANT[np.abs(grid[:, v] - bass) % 12]
    any_dissonance = dissonant.any(axis=1) | np.array([k[0] == "other" for k in kinds]) & full
    on_beat = steps % 4 == 0
    add("dissonant sonorities on the beat (share of beats)", any_dissonance[on_beat].mean() if on_beat.any() else 0)
    add("dissonant sonorities off the beat (share)", any_dissonance[~on_beat].mean() if (~on_beat).any() else 0)
    add("dissonant sonorities on the downbeat (share)",
        any_dissonance[steps % STEPS_PER_BAR == 0].mean() if (steps % STEPS_PER_BAR == 0).any() else 0)
    prepared = resolved = total = 0
    for v in range(N_VOICES - 1):
        for s, e, p in voice_notes[v]:
            if p == REST or not dissonant[s, v]:
                continue
            total += 1
            prepared += s > 0 and grid[s - 1, v] == p
            resolved += e < len(grid) and grid[e, v] != REST and -2 <= grid[e, v] - p < 0
    add("dissonant notes per bar", total / bars)
    add("dissonant notes prepared (share)", prepared / total if total else 0)
    add("dissonant notes resolved down by step (share)", resolved / total if total else 0)

    # motion between consecutive chord changes, per voice pair
    chords = grid[change]
    a, b = chords[:-1], chords[1:]
    for upper, lower in PAIRS:
        label = VOICE_NAMES[upper] + VOICE_NAMES[lower]
        sung = (a[:, [upper, lower]] != REST).all(axis=1) & (b[:, [upper, lower]] != REST).all(axis=1)
        up, low = b[:, upper] - a[:, upper], b[:, lower] - a[:, lower]
        n = max(sung.sum(), 1)
        before, after = np.abs(a[:, upper] - a[:, lower]) % 12, np.abs(b[:, upper] - b[:, lower]) % 12
        both = sung & (up != 0) & (low != 0)
        add(f"{label} contrary motion (share)", (both & (np.sign(up) != np.sign(low))).sum() / n)
        add(f"{label} similar motion (share)", (both & (np.sign(up) == np.sign(low)) & (up != low)).sum() / n)
        add(f"{label} parallel motion (share)", (both & (up == low)).sum() / n)
        add(f"{label} oblique motion (share)", (sung & ((up == 0) ^ (low == 0))).sum() / n)
        add(f"{label} parallel 5ths/8ves (share)", (both & (before == after) & np.isin(after, (0, 7))).sum() / n)
        add(f"{label} hidden 5ths/8ves (share)", (both & (np.sign(up) == np.sign(low)) & (before != after)
                                                  & np.isin(after, (0, 7))).sum() / n)
        crossed = (chords[:, upper] != REST) & (chords[:, lower] != REST) & (chords[:, upper] < chords[:, lower])
        add(f"{label} crossed chords (share)", crossed.mean() if len(chords) else 0)

    # spacing of adjacent voices
    for upper in range(N_VOICES - 1):
        label = VOICE_NAMES[upper] + VOICE_NAMES[upper + 1]
        both = (grid[:, upper] != REST) & (grid[:, upper + 1] != REST)
        gap = (grid[:, upper] - grid[:, upper + 1])[both]
        add(f"{label} mean spacing (semitones)", gap.mean() if gap.size else 0)
        add(f"{label} spacing spread", gap.std() if gap.size else 0)
        add(f"{label} spacing > octave (share)", (gap > 12).mean() if gap.size else 0)
    outer = (grid[:, 0] != REST) & (bass != REST)
    add("S-B spacing (semitones)", (grid[outer, 0] - bass[outer]).mean() if outer.any() else 0)
    return np.array(values), names


def feature_names() -> list[str]:
    return features(np.full((STEPS_PER_BAR, N_VOICES), 60))[1]
