"""Key names, signatures and the key of a passage."""

import numpy as np
import pytest

from chorale import ChoraleError
from chorale.data.loader import bach_keys
from chorale.keys import MODES, best_key, fifths_apart, key_name, parse_key, signature


@pytest.mark.parametrize("text, key", [
    ("D minor", (2, "minor")), ("d minor", (2, "minor")), ("Dm", (2, "minor")), ("D", (2, "major")),
    ("F# major", (6, "major")), ("Bb minor", (10, "minor")), ("B-flat minor", (10, "minor")),
    ("E♭ major", (3, "major")), ("f♯ min", (6, "minor")), (" C sharp minor ", (1, "minor")),
    ("Cb major", (11, "major")), ("B#", (0, "major")), ("B-", (10, "major")), ("bb", (10, "major")),
    ("Bm", (11, "minor")), ("Ebmaj", (3, "major")), ("A MINOR", (9, "minor")),
])
def test_parse_key_accepts_what_musicians_write(text, key):
    assert parse_key(text) == key


@pytest.mark.parametrize("text", ["", "H", "D dorian", "Dmm", "D##", "minor", "D minor major", "12"])
def test_unknown_keys_say_what_is_accepted(text):
    with pytest.raises(ChoraleError, match=f"unknown key '{text}': expected a tonic A-G.*'D minor'") as e:
        parse_key(text)
    assert "\n" not in str(e.value)


def test_key_names_round_trip_with_the_usual_spelling():
    assert [key_name(t, "major") for t in (1, 3, 6, 8, 10)] == ["Db major", "Eb major", "F# major", "Ab major",
                                                                "Bb major"]
    assert [key_name(t, "minor") for t in (1, 3, 6, 8, 10)] == ["C# minor", "Eb minor", "F# minor", "G# minor",
                                                                "Bb minor"]
    assert all(parse_key(key_name(t, m)) == (t, m) for t in range(12) for m in MODES)
    with pytest.raises(ValueError):
        key_name(12, "major")


def test_signatures_and_the_circle_of_fifths():
    assert [signature(*parse_key(k)) for k in ("C", "G", "F", "A minor", "F# major", "Db major", "Bb minor")] == \
        [0, 1, -1, 0, 6, -5, -5]
    assert fifths_apart((0, "major"), (9, "minor")) == 0  # relative keys
    assert fifths_apart((0, "major"), (7, "major")) == 1
    assert fifths_apart((2, "minor"), (4, "major")) == 5  # 1 flat to 4 sharps
    assert fifths_apart((6, "major"), (0, "major")) == 6


def test_best_key_of_cadences_and_of_silence():
    cadence = np.array([[72, 64, 55, 48], [72, 65, 57, 41], [71, 62, 55, 43], [72, 64, 55, 48]])  # I IV V I
    tonic, mode, r = best_key(cadence)
    assert (tonic, mode) == (0, "major") and r > 0.8
    assert best_key(np.where(cadence > 0, cadence - 3, 0))[:2] == (9, "major")
    minor = np.array([[69, 64, 57, 45], [69, 65, 62, 50], [68, 64, 59, 52], [69, 64, 57, 45]])  # i iv V i
    assert best_key(minor)[:2] == (9, "minor")
    assert best_key(np.zeros((4, 4), int)) is None


def test_bach_keys_counts_the_bundled_manifest():
    keys = bach_keys()
    assert sum(keys.values()) == 402 and keys[(9, "minor")] == 56 and keys[(7, "major")] == 48
