"""The Bach-or-not grader's pieces on tiny hand-made cases, and the ending it asks for."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from chorale import style
from chorale.keys import parse_key

GRADER = Path(__file__).resolve().parents[1] / "benchmarks" / "bach_or_not.py"


@pytest.fixture(scope="module")
def grader():
    spec = importlib.util.spec_from_file_location("bach_or_not", GRADER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# C major, one chord a beat (4 steps): I, IV6/4, V7, I; the soprano E-F-F-E, the bass held C then G to C
PROGRESSION = np.repeat(np.array([[64, 60, 55, 48],   # C E G over C: major, root position
                                  [65, 60, 57, 48],   # F A C over C: major, 6/4
                                  [65, 62, 59, 43],   # G B D F over G: dominant 7th, root position
                                  [64, 60, 55, 48]]), 4, axis=0)


def value(name, grid=PROGRESSION, start=0):
    values, names = style.features(grid, start)
    return values[names.index(name)]


def test_features_of_a_known_progression():
    values, names = style.features(PROGRESSION)
    assert len(names) == len(set(names)) == len(values) >= 200
    assert value("chords: major") == pytest.approx(3 / 4)  # I, IV6/4, I of the four chords
    assert value("chords: dominant 7th") == pytest.approx(1 / 4)
    assert value("chords in 6/4 (5th in bass)") == pytest.approx(1 / 4)
    assert value("chords in root position") == pytest.approx(3 / 4)
    assert value("chord changes per bar") == 4
    assert value("S notes 8 16ths long") == pytest.approx(1 / 3)  # E, F held over two chords, E
    assert value("S notes 4 16ths long") == pytest.approx(2 / 3)
    assert value("B melodic interval 5 semitones") == 1  # C held, down a 4th to G, up a 4th to C
    assert value("S onsets on an odd 16th per bar") == 0
    # the same chords a 16th late: every change falls on an odd 16th
    assert value("chord changes on odd 16ths per bar", start=1) == 3  # the first chord is no change
    assert value("S degree 4 (semitones above tonic)") == pytest.approx(2 / 3)  # E, F, E: E twice


def test_chord_kinds_and_the_final_tonic():
    assert style.chord_kind([67, 64, 60, 48]) == ("major", 0, 0)
    assert style.chord_kind([65, 62, 59, 55]) == ("dominant 7th", 7, 0)
    assert style.chord_kind([72, 67, 64, 55]) == ("major", 0, 2)
    assert style.sonority(frozenset({0, 4, 7}), 7) == "6/4" and style.sonority(frozenset({0, 2, 7}), 0) == "other"
    minor = parse_key("G minor")
    assert style.final_chord_is_tonic(np.array([[70, 62, 55, 43]] * 4), minor)
    assert style.final_chord_is_tonic(np.array([[71, 62, 55, 43]] * 4), minor)  # the Picardy third
    assert not style.final_chord_is_tonic(np.array([[62, 59, 59, 47]] * 4), minor)  # B in the bass
    assert not style.final_chord_is_tonic(np.array([[67, 62, 55, 43]] * 4), minor)  # no third
    rest_before = np.array([[0, 0, 0, 0]] + [[70, 62, 55, 43]] * 4)
    assert not style.final_chord_is_tonic(rest_before, minor)  # a general rest in the last bar


def test_odd_onsets_count_notes_starting_on_the_2nd_and_4th_16th():
    grid = np.array([[60, 60, 60, 48]] * 16)
    grid[5:, 0] = 62  # the soprano moves on step 5, an odd 16th
    grid[8:, 3] = 50  # the bass on step 8, the third beat
    np.testing.assert_allclose(style.odd_onsets_per_bar([grid]), [1, 0, 0, 0])
    np.testing.assert_allclose(style.odd_onsets_per_bar([grid], [1]), [0, 0, 0, 1])  # a 16th later
    assert not style.onsets(grid)[0].any()  # an excerpt cannot tell a note begun on its first step


def test_grouping_keeps_a_melody_in_one_fold(grader):
    groups = ["tune a"] * 7 + ["tune b"] * 3 + [("seed", i) for i in range(20)] + ["tune c"] * 5
    folds = grader.group_folds(groups, 5, np.random.default_rng(0))
    for g in set(map(str, groups)):
        assert len({f for f, h in zip(folds, groups) if str(h) == g}) == 1
    assert set(folds) == set(range(5))
    assert np.bincount(folds).max() - np.bincount(folds).min() <= 7  # the largest group alone is 7


def test_melodies_of_two_harmonizations_share_a_group(grader):
    tune = np.array([[67, 62, 59, 43]] * 4 + [[69, 62, 57, 50]] * 4 + [[71, 62, 55, 43]] * 4, dtype=int)
    other = tune.copy()
    other[:, 1:] -= [0, 3, 5]  # the same soprano, other lower voices
    third = tune.copy()
    third[:, 0] = [72] * 4 + [74] * 4 + [76] * 4  # another melody
    chorales = [type("C", (), {"notes": n, "title": None})() for n in (tune, other, third)]
    groups = grader.melody_groups(chorales)
    assert groups[0] == groups[1] != groups[2]


def test_logistic_regression_finds_the_separating_feature(grader):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5))
    y = (x[:, 2] > 0).astype(float)
    w = grader.fit_logistic(x, y, 1.0)
    assert np.argmax(np.abs(w[:-1])) == 2 and w[2] > 0


def test_seed_3_ends_on_a_root_position_tonic_triad(model):
    piece = model.generate(3)
    assert style.final_chord_is_tonic(piece.grid, parse_key(piece.key))
