"""Musicality metrics on small hand-made chorales where the right count is known."""

import numpy as np
import pytest
from click.testing import CliRunner

from chorale import ChoraleError, music, musicality
from chorale.cli import cli
from chorale.io.csvfile import write_csv
from chorale.encoding import N_VOICES
from chorale.keys import best_key

RANGES = np.array([[60, 81], [53, 74], [48, 69], [36, 62]])
FLAT = np.full((N_VOICES, 12), 1 / 12)
REFERENCE = music.Reference(RANGES, FLAT, np.full((N_VOICES, music.INTERVAL_BINS), 1 / music.INTERVAL_BINS))

C_MAJOR = [64, 60, 55, 48]  # E4 C4 G3 C3: tenor and bass a fifth apart, alto and bass an octave


def grid(*chords, hold=4):
    """Each chord held for `hold` 16ths."""
    return np.repeat(np.array(chords, dtype=np.int32), hold, axis=0)


def counts(*chords, **kw):
    return music.counts(grid(*chords, **kw), REFERENCE)


def test_planted_parallel_fifth_is_counted_once():
    c = counts(C_MAJOR, [65, 60, 57, 50])  # tenor and bass both up a tone, still a fifth apart
    assert (c["parallel_fifths"], c["parallel_octaves"], c["hidden_fifths"], c["hidden_octaves"]) == (1, 0, 0, 0)
    assert c["pair_transitions"] == 6
    assert music.rates(c, REFERENCE)["parallel_fifths"] == pytest.approx(100 / 6)


def test_octaves_unisons_and_contrary_motion_count_oblique_motion_does_not():
    assert counts(C_MAJOR, [65, 62, 57, 50])["parallel_octaves"] == 1  # alto and bass C-C to D-D
    assert counts([72, 60, 60, 48], [72, 62, 62, 53])["parallel_octaves"] == 1  # alto-tenor unison to unison
    assert counts(C_MAJOR, [65, 60, 57, 38])["parallel_fifths"] == 1  # T up, B down: fifth to compound fifth
    assert counts(C_MAJOR, [65, 60, 55, 50])["parallel_fifths"] == 0  # tenor holds: not parallel


def test_held_chords_are_one_chord_and_rests_break_the_line():
    held = counts(C_MAJOR, C_MAJOR, [65, 60, 57, 50], hold=3)
    assert held["parallel_fifths"] == 1 and held["chords"] == 2
    rest = counts(C_MAJOR, [64, 60, 0, 48], [65, 60, 57, 50])
    assert rest["parallel_fifths"] == 0


def test_hidden_octave_needs_similar_motion_into_it_and_a_soprano_leap():
    assert counts([64, 0, 0, 48], [67, 0, 0, 55])["hidden_octaves"] == 1  # S leaps a third up, B up a fifth
    assert counts([66, 0, 0, 50], [67, 0, 0, 55])["hidden_octaves"] == 0  # S moves by step
    assert counts([64, 0, 0, 60], [67, 0, 0, 55])["hidden_octaves"] == 0  # contrary motion
    assert counts([64, 0, 0, 50], [69, 0, 0, 50])["hidden_fifths"] == 0  # bass holds: oblique
    hidden_fifth = counts([64, 0, 0, 48], [69, 0, 0, 50])  # E/C to A/D: similar motion into a fifth
    assert (hidden_fifth["hidden_fifths"], hidden_fifth["pair_transitions"]) == (1, 1)


def test_crossing_spacing_and_range():
    c = counts(C_MAJOR, [60, 64, 55, 48], [76, 60, 55, 48], [72, 67, 52, 40])
    assert (c["chords"], c["crossings"], c["spacing"]) == (4, 1, 2)  # alto above soprano; S-A and A-T wider than 8ve
    out = counts(C_MAJOR, [59, 60, 55, 48])  # B3 is below the soprano range 60..81
    assert out["out_of_range"] == 1 and out["notes"] == 5


def test_repetition_and_note_lengths():
    g = grid(C_MAJOR, [65, 60, 57, 50], hold=4)
    r = music.rates(music.counts(g, REFERENCE), REFERENCE)
    assert r["repeated_steps"] == pytest.approx(6 / 7)
    assert r["held_note_length"] == pytest.approx(32 / 7)  # soprano, tenor, bass: two 4-step notes; alto one 8


def test_histogram_distances_are_zero_against_themselves_and_key_clarity():
    scale = grid(*[[p, p - 3, p - 8, p - 24] for p in (60, 62, 64, 65, 67, 69, 71, 72)], hold=2)
    own = music.Reference.of([scale])
    r = music.rates(music.counts(scale, own), own)
    assert r["pitch_class_distance"] == 0 and r["interval_distance"] == 0
    assert r["key_consistency"] > 0.8
    chromatic = grid(*[[60 + i, 0, 0, 0] for i in range(12)])
    assert music.key_consistency(chromatic) < 0.1
    assert music.rates(music.counts(chromatic, own), own)["pitch_class_distance"] == pytest.approx(5 / 12)


def test_aggregate_pools_counts_and_silence_gives_none():
    one = grid(C_MAJOR, [65, 60, 57, 50])
    scored = music.measure([one, grid(C_MAJOR, [65, 60, 55, 50])], REFERENCE, ["a", "b"])
    assert [c["name"] for c in scored["chorales"]] == ["a", "b"]
    assert scored["aggregate"]["parallel_fifths"] == pytest.approx(100 / 12)
    silent = music.measure([np.zeros((4, 4), np.int32)], REFERENCE)["aggregate"]
    assert silent["parallel_fifths"] is None and silent["key_consistency"] is None


def test_voice_leading_errors_and_agreement():
    g = grid(C_MAJOR, [65, 60, 57, 50], [60, 64, 57, 53])
    assert music.voice_leading_errors(g) == 2  # the parallel fifth and the crossed chord
    other = g.copy()
    other[:4, 1] = 59
    assert music.agreement(other, g, given=0) == pytest.approx(1 - 4 / (12 * 3))


def test_evaluate_music_cli(tmp_path):
    folder = tmp_path / "ours"
    folder.mkdir()
    write_csv(folder / "a.csv", grid(C_MAJOR, [65, 60, 57, 50]))
    result = CliRunner().invoke(cli, ["evaluate", "--music", str(folder), "--per-chorale"])
    assert result.exit_code == 0, result.output
    assert "Bach (test)" in result.output and "ours (1)" in result.output and "a.csv" in result.output
    result = CliRunner().invoke(cli, ["evaluate", "--music"])
    assert result.exit_code == 2 and "needs FILES" in result.output
    result = CliRunner().invoke(cli, ["evaluate", "--music", str(tmp_path)])  # a folder with no chorale files
    assert result.exit_code == 1 and "no chorale files" in result.output


C, F, G, AM, DM = [72, 64, 55, 48], [72, 65, 57, 41], [71, 62, 55, 43], [72, 64, 57, 45], [74, 65, 57, 50]
D7, G_HIGH, EM, D = [72, 66, 57, 50], [74, 67, 59, 55], [71, 64, 55, 52], [74, 66, 57, 50]
IN_C = (C, F, G, C, AM, DM, G, C)  # two bars of C major, a chord a beat
TO_G = (EM, AM, D7, G_HIGH, C, D, D7, G)  # two bars cadencing in G major (F# for F)


def test_a_piece_that_comes_home_and_one_that_ends_a_fifth_away():
    home = music.form(grid(*IN_C, *IN_C))
    assert (home["closing_key"], home["key_drift"], home["final_bass_tonic"]) == (1, 0, 1)
    away = music.form(grid(*IN_C, *TO_G))
    assert (away["key_spans"], away["closing_key"], away["key_drift"]) == (1, 0, 1)  # C major to G major
    assert (away["final_bass"], away["final_bass_tonic"]) == (1, 0)  # ends on G, not C
    rates = music.measure([grid(*IN_C, *IN_C), grid(*IN_C, *TO_G)], REFERENCE)["aggregate"]
    assert (rates["closing_key"], rates["key_drift"], rates["final_bass_tonic"]) == (0.5, 0.5, 0.5)


def test_relative_keys_share_a_signature_and_remote_keys_drift_further():
    a_minor = ([69, 64, 57, 45], [69, 65, 57, 50], [68, 64, 59, 52], [69, 64, 57, 45],
               [72, 65, 57, 53], [74, 65, 57, 50], [71, 68, 59, 52], [69, 64, 57, 45])  # i iv V i VI iv V i
    assert best_key(grid(*a_minor))[:2] == (9, "minor")
    relative = music.form(grid(*a_minor, *IN_C))  # A minor to C major: the same signature
    assert (relative["closing_key"], relative["key_drift"], relative["final_bass_tonic"]) == (1, 0, 0)
    a_major = [[p - 3 for p in ch] for ch in IN_C]
    assert music.form(grid(*a_major, *IN_C))["key_drift"] == 3  # A major (3 sharps) to C major
    e_flat = [[p + 3 for p in ch] for ch in IN_C]
    assert music.form(grid(*IN_C, *e_flat))["key_drift"] == 3  # C major to Eb major (3 flats)
    f_sharp = [[p + 6 for p in ch] for ch in IN_C]
    assert music.form(grid(*IN_C, *f_sharp))["key_drift"] == 6  # the farthest


def test_cadences_at_fermatas_against_the_pieces_key():
    g = grid(*IN_C, *TO_G)  # bass: C F G C A D G C | E A D G C D D G, a chord every 4 rows
    c = music.form(g, fermatas=(12, 16, 28, 60), key="C major")  # bass C, A, C, G
    assert (c["fermata_chords"], c["fermata_cadences"]) == (4, 3)
    assert music.form(g, fermatas=(12, 16), key="A minor")["fermata_cadences"] == 1  # A is the tonic, C is not
    assert music.form(g)["fermata_chords"] == 0  # unknown fermatas: undefined, not zero
    rested = g.copy()
    rested[12:16, 3] = 0
    assert music.form(rested, fermatas=(12, 16), key="C")["fermata_chords"] == 1  # no bass: not a chord to judge
    scored = music.measure([g, g], REFERENCE, fermatas=[(12, 16, 28, 60), None], keys=["C major", None])
    assert scored["aggregate"]["fermata_cadences"] == 0.75
    assert [c["fermata_cadences"] for c in scored["chorales"]] == [0.75, None]


def test_silence_leaves_the_form_measures_undefined():
    r = music.measure([np.zeros((8, 4), np.int32)], REFERENCE, fermatas=[(0,)])["aggregate"]
    assert [r[k] for k in ("closing_key", "key_drift", "final_bass_tonic", "fermata_cadences")] == [None] * 4


def test_evaluate_music_reads_fermatas_and_keys_from_a_folder_manifest(tmp_path):
    folder = tmp_path / "planned"
    folder.mkdir()
    write_csv(folder / "a.csv", grid(*IN_C, *TO_G))
    write_csv(folder / "b.csv", grid(*IN_C, *IN_C))
    (folder / "manifest.csv").write_text("id,key,fermatas\na,C major,12 16 28 60\n")
    scored = musicality.evaluate_files([folder])["columns"]
    assert scored["planned"]["aggregate"]["fermata_cadences"] == 0.75
    assert scored["Bach (test)"]["aggregate"]["fermata_cadences"] > 0.5
    (folder / "manifest.csv").write_text("id,fermatas\nb,3 1\n")
    with pytest.raises(ChoraleError, match="manifest.csv: line 2 \\(b\\): fermata rows must increase"):
        musicality.evaluate_files([folder])
