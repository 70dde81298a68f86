"""Keys: names as musicians write them, key signatures, and the key a passage is in.

A key is (tonic pitch class 0..11, mode "major" or "minor"). The key of a passage is the
best of the 24 Aarden-Essen profiles (the ones music21's `analyze("key")` uses, copied
here so that no score has to be built) correlated with its pitch-class counts. NumPy only.
"""

from __future__ import annotations


import numpy as np

from chorale import ChoraleError
from chorale.encoding import REST
from chorale.limits import MAX_KEY_CHARS

MODES = ("major", "minor")
# Spellings with the fewer accidentals in the key signature (Db major, not C# major; a tie,
# F#/Gb major and D#/Eb minor, goes to the more common one).
MAJOR_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
# music21.analysis.discrete.AardenEssen weights, from the tonic up, for major and minor.
AARDEN_ESSEN = {
    "major": (17.7661, 0.145624, 14.9265, 0.160186, 19.8049, 11.3587, 0.291248, 22.062, 0.145624, 8.15494,
              0.232998, 4.95122),
    "minor": (18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362, 0.702494, 18.6161, 4.56621, 1.93186,
              7.37619, 1.75623),
}
# One row per key, majors then minors, each rotated to its tonic; centred for correlation.
_PROFILES = np.array([np.roll(AARDEN_ESSEN[mode], tonic) for mode in MODES for tonic in range(12)])
_CENTRED = _PROFILES - _PROFILES.mean(axis=1, keepdims=True)

FORMS = "a tonic A-G, optionally #/♯/b/♭/sharp/flat, then optionally major/minor (maj/min/m): " \
        "e.g. 'D minor', 'Dm', 'F# major', 'Bb', 'E♭ major', 'B-flat minor'"
_SHARP, _FLAT = ("#", "♯", "sharp"), ("b", "♭", "flat")
_MODES = {"": "major", "maj": "major", "major": "major", "m": "minor", "min": "minor", "minor": "minor"}


def parse_key(text: str) -> tuple[int, str]:
    """'D minor', 'dm', 'F# major', 'B-flat minor', 'E♭' ... -> (tonic pitch class, mode);
    no mode means major. Read left to right in one pass (no regular expression, so no
    input can make it backtrack), after a length check."""
    if not isinstance(text, str):
        raise TypeError(f"key must be text such as 'D minor', got {type(text).__name__}")
    if len(text) > MAX_KEY_CHARS:
        raise ChoraleError(f"unknown key '{text[:12]}…' ({len(text):,} characters): a key name has at most "
                           f"{MAX_KEY_CHARS}, e.g. 'D minor'")
    rest = text.strip().lower()
    letter, rest = rest[:1], rest[1:].lstrip()
    shift = 0
    if rest.startswith("-"):  # B-flat, B- flat, B- (music21's flat), F-sharp
        rest, shift = rest[1:].lstrip(), -1
        if rest.startswith("sharp"):
            rest, shift = rest[5:], 1
        elif rest.startswith("flat"):
            rest = rest[4:]
    else:
        for sign, spellings in ((1, _SHARP), (-1, _FLAT)):
            found = next((a for a in spellings if rest.startswith(a)), None)
            if found:
                rest, shift = rest[len(found):], sign
                break
    mode = _MODES.get(rest.strip())
    if letter.upper() not in LETTERS or mode is None:
        raise ChoraleError(f"unknown key '{text}': expected {FORMS}")
    return (LETTERS[letter.upper()] + shift) % 12, mode


def key_name(tonic: int, mode: str) -> str:
    """(2, "minor") -> "D minor", spelled as the key signature is written (Bb major, F# minor)."""
    if mode not in MODES or not 0 <= tonic < 12:
        raise ValueError(f"not a key: ({tonic}, {mode!r})")
    return f"{(MAJOR_NAMES if mode == 'major' else MINOR_NAMES)[tonic]} {mode}"


def tonic_triad(tonic: int, mode: str, final: bool = False) -> frozenset[int]:
    """Pitch classes of the key's tonic chord: root, third and fifth. A minor key's `final`
    chord may take the major third (the tierce de Picardie Bach often ends with)."""
    thirds = (4,) if mode == "major" else (3, 4) if final else (3,)
    return frozenset((tonic + i) % 12 for i in (0, *thirds, 7))


def signature(tonic: int, mode: str) -> int:
    """Sharps (+) or flats (-) of the key signature, -5..6; relative keys share one."""
    major_tonic = tonic if mode == "major" else (tonic + 3) % 12
    return (major_tonic * 7 + 5) % 12 - 5


def fifths_apart(a: tuple[int, str], b: tuple[int, str]) -> int:
    """Distance 0..6 between the key signatures of two keys on the circle of fifths."""
    d = (signature(*a) - signature(*b)) % 12
    return min(d, 12 - d)


def pitch_class_counts(grid) -> np.ndarray:
    """(12,) how many sung 16th steps each pitch class has, all voices together."""
    grid = np.asarray(grid)
    return np.bincount(grid[grid != REST] % 12, minlength=12).astype(float)


def best_key(grid, ending: int | None = None) -> tuple[int, str, float] | None:
    """(tonic, mode, correlation) of the key profile that best fits the grid's pitch-class
    counts (music21's `analyze("key")`, tonic, mode and correlationCoefficient); None when
    nothing is sung. With `ending`, the pitch a melody ends on, only keys on that tonic
    count: the root of Bach's final chord doubles his melody's last note (the bass ends on
    its pitch class in 82 of the 83 test chorales), where the best fit of the whole melody
    names that tonic in only 67 of them."""
    counts = pitch_class_counts(grid)
    if not counts.any():
        return None
    centred = counts - counts.mean()
    denominator = np.sqrt((_CENTRED**2).sum(axis=1) * (centred**2).sum())
    correlations = np.divide(_CENTRED @ centred, denominator, out=np.zeros(24), where=denominator > 0)
    if ending is not None:
        fits = np.arange(24) % 12 == ending % 12
        correlations = np.where(fits, correlations, -np.inf)
    best = int(np.argmax(correlations))
    return best % 12, MODES[best // 12], float(correlations[best])


def key_of(grid, key: str | None = None) -> tuple[int, str] | None:
    """(tonic, mode) of a piece: `key` when it is known (its plan), else the best fit to its
    notes; None for a piece of rests."""
    if key is not None:
        return parse_key(key)
    found = best_key(grid)
    return None if found is None else found[:2]


def mido_key(tonic: int, mode: str) -> str:
    """The key as a MIDI key signature names it in mido ("Eb", "F#m")."""
    return key_name(tonic, mode).split()[0] + ("m" if mode == "minor" else "")
