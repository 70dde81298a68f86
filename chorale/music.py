"""How Bach-like is a chorale? Voice-leading errors and style statistics, on the pitch grid.

Everything is counted on (steps, 4) grids (soprano, alto, tenor, bass; 0 = rest), so real
Bach, samples and harmonizations are measured the same way. Motion is judged between
consecutive chord *changes* (a held chord is one chord, whatever its length), and a voice
pair takes part in a transition only when both voices sing in both chords. Counts are
kept per chorale and summed before dividing, so the aggregate of a set is a pooled rate,
not a mean of small-sample rates. See docs/music.md for the exact definitions.

Form (does the piece come home?) is measured with keys of spans (`chorale.keys.best_key`):
the opening and closing 2 bars, the final bass note, and the bass under each fermata.

Pure NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from chorale.encoding import N_VOICES, REST, STEPS_PER_BAR, runs, voice_ranges
from chorale.keys import best_key, fifths_apart, parse_key, signature

PAIRS = tuple(combinations(range(N_VOICES), 2))  # (upper, lower) voice pairs
OUTER = (0, N_VOICES - 1)  # soprano and bass
FIFTH, OCTAVE = 7, 0  # interval classes (semitones mod 12); a unison counts as an octave
SPACING_LIMIT = 12  # semitones allowed between soprano-alto and alto-tenor
SOPRANO_STEP = 2  # a soprano move larger than this is a leap (hidden fifths and octaves)
MAX_INTERVAL = 12  # melodic intervals beyond an octave share the outermost bins
INTERVAL_BINS = 2 * MAX_INTERVAL + 1
FORM_SPAN = 2 * STEPS_PER_BAR  # the opening and the closing: the first and the last 2 bars
CADENCE_DEGREES = (0, 7)  # a fermata's bass on the tonic or the dominant closes a phrase

# Metrics in the order tables print them: (key, label). FAULTS are voice-leading errors, where
# fewer is better (the textbook's view, even below Bach's own rate); for the others, closer to Bach.
METRICS = (
    ("parallel_fifths", "parallel 5ths / 100 pair transitions"),
    ("parallel_octaves", "parallel 8ves / 100 pair transitions"),
    ("hidden_fifths", "hidden 5ths / 100 pair transitions"),
    ("hidden_octaves", "hidden 8ves / 100 pair transitions"),
    ("parallels_per_note", "parallel 5ths+8ves per note"),
    ("crossings", "chords with a voice crossing / 100"),
    ("spacing", "chords with S-A or A-T > octave / 100"),
    ("out_of_range", "notes outside Bach's voice range / 100"),
    ("pitch_class_distance", "pitch-class histogram distance (TV)"),
    ("interval_distance", "melodic interval histogram distance (TV)"),
    ("key_consistency", "key consistency (music21 key correlation)"),
    ("repeated_steps", "steps equal to the previous step (share)"),
    ("held_note_length", "mean note length (16ths)"),
    ("closing_key", "closing key signature = opening's (share)"),
    ("key_drift", "opening-to-closing key drift (fifths)"),
    ("final_bass_tonic", "last bass note on the opening tonic (share)"),
    ("fermata_cadences", "fermata bass on tonic/dominant (share)"),
)
FAULTS = ("parallel_fifths", "parallel_octaves", "hidden_fifths", "hidden_octaves", "parallels_per_note",
          "crossings", "spacing", "out_of_range")


@dataclass(frozen=True)
class Reference:
    """What real Bach looks like: each voice's range and its pitch-class and melodic
    interval distributions (each row sums to 1)."""

    ranges: np.ndarray  # (4, 2) lowest and highest pitch per voice
    pitch_classes: np.ndarray  # (4, 12)
    intervals: np.ndarray  # (4, INTERVAL_BINS): -12..+12 semitones, clipped

    @classmethod
    def of(cls, chorales, ranges_from=None) -> Reference:
        """Histograms of `chorales` (grids); voice ranges of `ranges_from` (default: the same)."""
        chorales = [np.asarray(c) for c in chorales]
        pcs = sum(_pitch_class_counts(c) for c in chorales)
        intervals = sum(_interval_counts(c) for c in chorales)
        return cls(voice_ranges(ranges_from if ranges_from is not None else chorales),
                   _normalized(pcs), _normalized(intervals))


# ---------------------------------------------------------------------------- building blocks
def chord_changes(grid: np.ndarray) -> np.ndarray:
    """The grid with each run of identical chords kept once."""
    grid = np.asarray(grid)
    if len(grid) == 0:
        return grid
    keep = np.concatenate([[True], (grid[1:] != grid[:-1]).any(axis=1)])
    return grid[keep]


def notes(line: np.ndarray) -> list[tuple[int, int]]:
    """(pitch, length in steps) of each sung note of one voice; rests give (0, length)."""
    return [(pitch, end - start) for start, end, pitch in runs(line)]


def _normalized(counts: np.ndarray) -> np.ndarray:
    totals = counts.sum(axis=-1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)


def _pitch_class_counts(grid) -> np.ndarray:
    """(4, 12) note counts per voice and pitch class (each sung note once, whatever its length)."""
    out = np.zeros((N_VOICES, 12))
    for v in range(N_VOICES):
        for pitch, _ in notes(grid[:, v]):
            if pitch != REST:
                out[v, pitch % 12] += 1
    return out


def _interval_counts(grid) -> np.ndarray:
    """(4, INTERVAL_BINS) counts of the melodic interval between consecutive notes of a voice
    (a rest breaks the line)."""
    out = np.zeros((N_VOICES, INTERVAL_BINS))
    for v in range(N_VOICES):
        pitches = [p for p, _ in notes(grid[:, v])]
        for a, b in zip(pitches, pitches[1:]):
            if a != REST and b != REST:
                out[v, int(np.clip(b - a, -MAX_INTERVAL, MAX_INTERVAL)) + MAX_INTERVAL] += 1
    return out


def _motion(grid) -> dict:
    """Parallel and hidden fifths and octaves, and the voice-pair transitions they are out of."""
    chords = chord_changes(grid)
    a, b = chords[:-1], chords[1:]
    out = dict.fromkeys(("pair_transitions", "parallel_fifths", "parallel_octaves",
                         "hidden_fifths", "hidden_octaves"), 0)
    for upper, lower in PAIRS:
        sung = (a[:, upper] != REST) & (a[:, lower] != REST) & (b[:, upper] != REST) & (b[:, lower] != REST)
        before = np.abs(a[:, upper] - a[:, lower]) % 12
        after = np.abs(b[:, upper] - b[:, lower]) % 12
        up_move, low_move = b[:, upper] - a[:, upper], b[:, lower] - a[:, lower]
        both_move = sung & (up_move != 0) & (low_move != 0)
        out["pair_transitions"] += int(sung.sum())
        out["parallel_fifths"] += int((both_move & (before == FIFTH) & (after == FIFTH)).sum())
        out["parallel_octaves"] += int((both_move & (before == OCTAVE) & (after == OCTAVE)).sum())
        if (upper, lower) == OUTER:
            hidden = (both_move & (np.sign(up_move) == np.sign(low_move)) & (before != after)
                      & (np.abs(up_move) > SOPRANO_STEP))
            out["hidden_fifths"] += int((hidden & (after == FIFTH)).sum())
            out["hidden_octaves"] += int((hidden & (after == OCTAVE)).sum())
    return out


def _chord_faults(grid) -> dict:
    """Chords (after merging repeats) with a voice crossing or too wide a spacing."""
    chords = chord_changes(grid)
    crossed = np.zeros(len(chords), bool)
    for upper, lower in PAIRS:
        crossed |= (chords[:, upper] != REST) & (chords[:, lower] != REST) & (chords[:, upper] < chords[:, lower])
    wide = np.zeros(len(chords), bool)
    for upper, lower in ((0, 1), (1, 2)):
        wide |= ((chords[:, upper] != REST) & (chords[:, lower] != REST)
                 & (chords[:, upper] - chords[:, lower] > SPACING_LIMIT))
    return {"chords": len(chords), "crossings": int(crossed.sum()), "spacing": int(wide.sum())}


VOICE_LEADING_FAULTS = {  # what harmonize minimizes over its candidates, and how a person says each
    "parallel_fifths": ("parallel fifth", "parallel fifths"),
    "parallel_octaves": ("parallel octave", "parallel octaves"),
    "hidden_fifths": ("hidden fifth", "hidden fifths"),
    "hidden_octaves": ("hidden octave", "hidden octaves"),
    "crossings": ("voice crossing", "voice crossings"),
    "spacing": ("spacing error", "spacing errors"),
}


def voice_leading_faults(grid) -> dict[str, int]:
    """Counts of each kind in VOICE_LEADING_FAULTS: parallel and hidden fifths and octaves,
    crossed chords and chords spaced wider than an octave between upper voices."""
    counts = {**_motion(np.asarray(grid)), **_chord_faults(np.asarray(grid))}
    return {kind: counts[kind] for kind in VOICE_LEADING_FAULTS}


def voice_leading_errors(grid) -> int:
    """All voice-leading faults together."""
    return sum(voice_leading_faults(grid).values())


def describe_faults(faults: dict[str, int]) -> str:
    """'no voice-leading errors', '1 voice-leading error (1 spacing error)', '11 voice-leading
    errors (9 voice crossings, 2 spacing errors)'."""
    total = sum(faults.values())
    if not total:
        return "no voice-leading errors"
    kinds = ", ".join(f"{n} {VOICE_LEADING_FAULTS[k][n != 1]}" for k, n in faults.items() if n)
    return f"{total} voice-leading error{'s' if total != 1 else ''} ({kinds})"


def key_consistency(grid) -> float:
    """How well the chorale's duration-weighted pitch classes fit one key: the correlation
    with the best of music21's key profiles (the `correlationCoefficient` of music21's
    `analyze("key")`, computed here without building a score); NaN for a silent grid."""
    found = best_key(grid)
    return found[2] if found else float("nan")


def form(grid, fermatas=None, key: str | None = None) -> dict:
    """Counts of whether a chorale comes home: the keys of its first and last FORM_SPAN
    steps (same signature? how many fifths apart?), its last bass note against the opening
    tonic, and the bass of the chords under `fermatas` (rows) against the tonic and
    dominant of `key` (estimated from the whole grid when None). Each count comes with
    its denominator, 0 where it is undefined (silence, no fermatas known)."""
    grid = np.asarray(grid)
    opening, closing = best_key(grid[:FORM_SPAN]), best_key(grid[-FORM_SPAN:])
    spans = opening is not None and closing is not None
    bass = grid[:, -1][grid[:, -1] != REST]
    under = [grid[r, -1] for r in (fermatas or ()) if grid[r, -1] != REST]
    tonic = (parse_key(key) if key else best_key(grid))[0] if under else None  # something sings
    return {
        "key_spans": int(spans),
        "closing_key": int(spans and signature(*opening[:2]) == signature(*closing[:2])),
        "key_drift": fifths_apart(opening[:2], closing[:2]) if spans else 0,
        "final_bass": int(bass.size > 0 and opening is not None),
        "final_bass_tonic": int(bass.size > 0 and opening is not None and bass[-1] % 12 == opening[0]),
        "fermata_chords": len(under),
        "fermata_cadences": sum((b - tonic) % 12 in CADENCE_DEGREES for b in under),
    }


# ---------------------------------------------------------------------------- scoring
def counts(grid, reference: Reference, fermatas=None, key: str | None = None) -> dict:
    """The raw counts of one chorale; `rates` turns (sums of) them into metrics. `fermatas`
    and `key` as for `form`."""
    grid = np.asarray(grid)
    voices = [notes(grid[:, v]) for v in range(N_VOICES)]
    sung = [(v, p, n) for v in range(N_VOICES) for p, n in voices[v] if p != REST]
    low, high = reference.ranges[:, 0], reference.ranges[:, 1]
    return {
        **_motion(grid), **_chord_faults(grid),
        "notes": len(sung),
        "out_of_range": sum(1 for v, p, _ in sung if not low[v] <= p <= high[v]),
        "sung_steps": sum(n for _, _, n in sung),
        "steps": len(grid),
        "repeated_steps": int((grid[1:] == grid[:-1]).all(axis=1).sum()) if len(grid) else 0,
        "pitch_class_counts": _pitch_class_counts(grid),
        "interval_counts": _interval_counts(grid),
        "key_consistency": [key_consistency(grid)],
        **form(grid, fermatas, key),
    }


def _per(numerator, denominator, scale=1.0) -> float:
    return scale * numerator / denominator if denominator else float("nan")


def _distance(histogram_counts, reference) -> float:
    """Total-variation distance between histograms, averaged over the voices that sing."""
    sung = histogram_counts.sum(axis=-1) > 0
    if not sung.any():
        return float("nan")
    return float((0.5 * np.abs(_normalized(histogram_counts) - reference).sum(axis=-1))[sung].mean())


def rates(c: dict, reference: Reference) -> dict:
    """Metrics (see METRICS) from the counts of one chorale or the summed counts of a set;
    None where a metric is undefined (no transitions, no notes)."""
    transitions = c["pair_transitions"]
    metrics = {
        "parallel_fifths": _per(c["parallel_fifths"], transitions, 100),
        "parallel_octaves": _per(c["parallel_octaves"], transitions, 100),
        "hidden_fifths": _per(c["hidden_fifths"], transitions, 100),
        "hidden_octaves": _per(c["hidden_octaves"], transitions, 100),
        "parallels_per_note": _per(c["parallel_fifths"] + c["parallel_octaves"], c["notes"]),
        "crossings": _per(c["crossings"], c["chords"], 100),
        "spacing": _per(c["spacing"], c["chords"], 100),
        "out_of_range": _per(c["out_of_range"], c["notes"], 100),
        "pitch_class_distance": _distance(c["pitch_class_counts"], reference.pitch_classes),
        "interval_distance": _distance(c["interval_counts"], reference.intervals),
        "key_consistency": float(np.nanmean(c["key_consistency"])) if np.isfinite(c["key_consistency"]).any()
        else float("nan"),
        "repeated_steps": _per(c["repeated_steps"], c["steps"] - 1) if c["steps"] > 1 else float("nan"),
        "held_note_length": _per(c["sung_steps"], c["notes"]),
        "closing_key": _per(c["closing_key"], c["key_spans"]),
        "key_drift": _per(c["key_drift"], c["key_spans"]),
        "final_bass_tonic": _per(c["final_bass_tonic"], c["final_bass"]),
        "fermata_cadences": _per(c["fermata_cadences"], c["fermata_chords"]),
    }
    return {k: None if np.isnan(v) else v for k, v in metrics.items()}


def _summed(all_counts: list[dict]) -> dict:
    return {k: (sum((c[k] for c in all_counts), []) if isinstance(all_counts[0][k], list)
                else sum(c[k] for c in all_counts)) for k in all_counts[0]}


def measure(grids, reference: Reference, names=None, fermatas=None, keys=None) -> dict:
    """Measure a set of chorales: {"chorales": [{"name", "count": raw counts, **metrics}],
    "aggregate": metrics of the pooled counts} (the key consistency is the mean over chorales).
    `fermatas` and `keys`, one per grid (None where unknown), feed the form measures."""
    grids = [np.asarray(g) for g in grids]
    names = list(names) if names is not None else [str(i) for i in range(len(grids))]
    fermatas = list(fermatas) if fermatas is not None else [None] * len(grids)
    keys = list(keys) if keys is not None else [None] * len(grids)
    all_counts = [counts(g, reference, f, k) for g, f, k in zip(grids, fermatas, keys)]
    per_chorale = [{"name": n, **rates(c, reference),
                    "count": {k: v for k, v in c.items() if not isinstance(v, (list, np.ndarray))}}
                   for n, c in zip(names, all_counts)]
    return {"chorales": per_chorale, "aggregate": rates(_summed(all_counts), reference) if grids else {}}


def agreement(grid, original, given: int) -> float:
    """Share of the sampled voices' steps (every voice but `given`) equal to the original's."""
    grid, original = np.asarray(grid), np.asarray(original)
    if grid.shape != original.shape:
        raise ValueError(f"shapes differ: {grid.shape} vs {original.shape}")
    others = [v for v in range(N_VOICES) if v != given]
    return float((grid[:, others] == original[:, others]).mean())


CHORALE_COLUMNS = (("parallel_fifths", "par5"), ("parallel_octaves", "par8"), ("hidden_fifths", "hid5"),
                   ("hidden_octaves", "hid8"), ("crossings", "cross"), ("spacing", "spacing"),
                   ("out_of_range", "range"), ("key_consistency", "key"), ("repeated_steps", "repeat"),
                   ("key_drift", "drift"), ("fermata_cadences", "cadence"))


def chorale_table(scored: dict) -> str:
    """One line per chorale of a `measure` result, with the main metrics."""
    names = [c["name"] for c in scored["chorales"]]
    width = max(8, *(len(n) for n in names)) if names else 8
    lines = [f"{'chorale':<{width}}  " + "  ".join(f"{h:>7}" for _, h in CHORALE_COLUMNS)]
    for c in scored["chorales"]:
        lines.append(f"{c['name']:<{width}}  " + "  ".join(f"{_format(k, c[k]):>7}" for k, _ in CHORALE_COLUMNS))
    return "\n".join(lines)


def table(columns: dict[str, dict]) -> str:
    """Side-by-side text table of aggregate metrics: {column title: metrics dict}."""
    titles = list(columns)
    width = max(12, *(len(t) for t in titles))
    label_width = max(len(label) for _, label in METRICS)
    lines = [f"{'':<{label_width}}  " + "  ".join(f"{t:>{width}}" for t in titles)]
    for key, label in METRICS:
        cells = [columns[t].get(key) for t in titles]
        lines.append(f"{label:<{label_width}}  " + "  ".join(f"{_format(key, x):>{width}}" for x in cells))
    return "\n".join(lines)


def _format(key: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if key == "parallels_per_note" else f"{value:.3f}"
