"""The dataset builder: grids from real corpus chorales, skips, twins, splits, no drift."""

import csv
from fractions import Fraction

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("music21")
from music21 import chord, expressions, meter, note, stream  # noqa: E402

from chorale import ChoraleError
from chorale.data import corpus  # noqa: E402
from chorale.cli import cli  # noqa: E402
from chorale.data.loader import load  # noqa: E402
from chorale.io.csvfile import read_csv  # noqa: E402
from chorale.io.files import bundled  # noqa: E402


def test_pickup_starts_at_row_0_and_the_final_chord_completes_the_bar():
    grid = corpus.chorale_grid("bach/bwv1.6.mxl")  # one-beat pickup; also has a horn part
    assert grid.shape == (324, 4)  # 1 beat + 80 bars of 16 steps
    assert grid[:4].tolist() == [[65, 60, 57, 53]] * 4  # F major pickup chord, held a beat
    assert grid[4].tolist() == [72, 60, 55, 52]
    assert grid[-4:].tolist() == [[65, 60, 57, 41]] * 4  # the held final chord


def test_three_four_chorale_without_instruments():
    grid = corpus.chorale_grid("bach/bwv269.mxl")
    assert grid.shape == (256, 4)  # 1-beat pickup + 21 bars of 12 steps
    assert (grid != 0).all()
    assert grid[0].tolist() == [67, 62, 59, 43]
    low, high = grid.min(axis=0), grid.max(axis=0)
    assert (low[:-1] > low[1:]).all() and (high[:-1] > high[1:]).all()  # S > A > T > B ranges


def test_fermatas_are_the_rows_where_the_soprano_fermata_chords_start():
    # bwv269 (3/4, one-beat pickup): soprano fermatas on the downbeats of bars 4, 7, 10, 14,
    # 18 and 21 (music21's measure numbers); row = 4 pickup rows + 12 per bar before it.
    piece = corpus.convert("bach/bwv269.mxl")
    assert piece.fermatas == tuple(4 + 12 * (bar - 1) for bar in (4, 7, 10, 14, 18, 21))
    assert piece.fermatas == (40, 76, 112, 160, 208, 244)
    # bwv10.7: the last fermata note is tied over the barline; the chord under it starts at
    # the downbeat, where the bass arrives on G2.
    piece = corpus.convert("bach/bwv10.7.mxl")
    assert piece.fermatas == (64, 128, 208, 336)
    assert piece.notes[335, 3] == 55 and piece.notes[336].tolist() == [67, 62, 59, 43]
    assert corpus.convert("bach/bwv1.6.mxl").fermatas == ()  # the score marks none


def _part(name, *elements):
    part = stream.Part([meter.TimeSignature("4/4"), *elements])
    part.partName = name
    return part


def _score(*parts):
    return stream.Score(list(parts))


def test_voices_by_first_word_of_the_part_name_and_sampling_rules():
    quarter = dict(quarterLength=1)
    triplet = dict(quarterLength=Fraction(1, 3))
    grace = note.Note("D5").getGrace()
    score = _score(
        _part("Oboe", note.Note("C6", quarterLength=4)),
        _part("Soprano\rOboe 1,2", note.Note("C5", **quarter), grace, note.Note("E5", **quarter),
              note.Rest(quarterLength=2)),
        _part("Alto", *[note.Note(p, **triplet) for p in ("A4", "B4", "C5")], note.Note("D4", quarterLength=3)),
        _part("Tenor\rViola", chord.Chord(["E3", "G3"], quarterLength=4)),
        _part("Bass Continuo", chord.Chord(["C2", "C3"], quarterLength=4)),
    )
    grid = corpus.chorale_grid(score)
    assert grid[:, 0].tolist() == [72] * 4 + [76] * 4 + [0] * 8  # grace note dropped, rest is 0
    assert grid[:4, 1].tolist() == [69, 69, 71, 72]  # the note sounding at each 16th
    assert set(grid[:, 2]) == {55} and set(grid[:, 3]) == {36}  # chord: top, bass: bottom


def _held(pitch, fermata=False):
    n = note.Note(pitch, quarterLength=2)
    if fermata:
        n.expressions.append(expressions.Fermata())
    return n


def test_fermatas_fall_back_to_any_voice_and_count_from_the_first_sung_row():
    intro = note.Rest(quarterLength=4)  # an instrumental bar before the voices: cut from the grid
    score = _score(
        _part("Soprano", intro, _held("C5"), _held("D5")),
        _part("Alto", note.Rest(quarterLength=4), _held("G4", fermata=True), _held("A4")),
        _part("Tenor", note.Rest(quarterLength=4), _held("E4"), _held("F4", fermata=True)),
        _part("Bass", note.Rest(quarterLength=4), _held("C3"), _held("D3")),
    )
    parts = corpus.voice_parts(score)
    grid, first_row = corpus._grid(parts)
    assert first_row == 16 and len(grid) == 16
    assert corpus.fermatas(parts, first_row, len(grid)) == (0, 8)
    parts[0].flatten().notes[1].expressions.append(expressions.Fermata())
    assert corpus.fermatas(parts, first_row, len(grid)) == (8,)  # the soprano's win


def test_five_voice_and_keyboard_scores_are_skipped_with_a_reason():
    assert "2 soprano parts" in corpus.convert("bach/bwv227.3.mxl")
    with pytest.raises(corpus.NotAFourPartChorale, match="no soprano part"):
        corpus.voice_parts(_score(_part("Piano"), _part("Piano")))


def _chorale(soprano, shift=0, lower=(60, 55, 48)):
    """A grid whose soprano sings `soprano` (pitches, each one quarter) moved by `shift`."""
    rows = [[p + shift, *lower] for p in soprano for _ in range(4)]
    return np.array(rows)


TUNE = [67, 67, 69, 71, 72, 71, 69, 67, 66, 67, 69, 71, 69, 67, 66, 67]
OTHER = [60, 64, 67, 72, 71, 67, 64, 62, 60, 59, 60, 62, 64, 65, 64, 60]


def test_transposed_and_near_twins_are_grouped_unrelated_tunes_are_not():
    ending_changed = TUNE[:-2] + [74, 72]
    melodies = [corpus.melody_ngrams(g) for g in (
        _chorale(TUNE), _chorale(OTHER), _chorale(TUNE, shift=-5, lower=(57, 53, 45)),
        _chorale(ending_changed, shift=2))]
    assert corpus.twin_groups(melodies) == [0, 1, 0, 0]


def _piece(source, soprano, shift=0):
    return corpus.Piece(source, _chorale(soprano, shift), "G major", "4/4")


def test_split_is_deterministic_keeps_twins_together_and_is_stable_when_the_corpus_grows():
    pieces = [_piece(f"bach/bwv{n}.mxl", [p + n % 7 for p in OTHER]) for n in range(1, 60)]
    pieces.append(_piece("bach/bwv900.mxl", TUNE))
    pieces.append(_piece("bach/bwv901.mxl", TUNE, shift=3))
    splits = corpus.assign_splits(pieces)
    assert splits == corpus.assign_splits(pieces)
    assert splits[-1] == splits[-2] == corpus.split_of("bach/bwv900.mxl")
    grown = corpus.assign_splits([*pieces[:30], _piece("bach/bwv0.1.mxl", TUNE[::-1]), *pieces[30:]])
    assert grown[:30] + grown[31:] == splits
    buckets = [corpus.split_of(f"bach/bwv{n}.mxl") for n in range(2000)]
    assert 0.55 < buckets.count("train") / 2000 < 0.65 and 0.15 < buckets.count("test") / 2000 < 0.25


def test_committed_dataset_matches_the_builder():
    folder = bundled("chorales")
    with open(folder / "manifest.csv", newline="", encoding="utf-8") as f:
        manifest = {row["source"]: row for row in csv.DictReader(f)}
    assert len(manifest) > 390
    for source in ("bach/bwv1.6.mxl", "bach/bwv26.6.mxl", "bach/bwv171.6.mxl", "bach/bwv299.mxl",
                   "bach/bwv328.mxl"):
        row = manifest[source]
        committed = read_csv(folder / row["split"] / f"{row['id']}.csv")
        piece = corpus.convert(source)
        assert np.array_equal(piece.notes, committed), source
        assert int(row["steps"]) == len(committed)
        assert row["fermatas"] == " ".join(map(str, piece.fermatas)) and row["key"] == piece.key


def test_build_writes_the_jsb_layout_and_a_manifest(tmp_path):
    out = tmp_path / "set"
    kept, skipped = corpus.build(out, limit=3, jobs=1)
    assert [p.source for p in kept] == ["bach/bwv1.6.mxl", "bach/bwv2.6.mxl", "bach/bwv3.6.mxl"]
    assert skipped == []
    dataset = load(out)
    assert sum(len(c) for c in dataset.splits.values()) == 3
    header = dataset.manifest.splitlines()[0]
    assert header == "id,split,bwv,title,key,time_signature,steps,source,fermatas"
    first = dataset["valid"][0]  # bwv1.6: its score marks no fermatas
    assert (first.key, first.fermatas) == ("F major", ())
    assert [c.fermatas for c in dataset["train"]] == [(28, 60, 92, 124, 164), (28, 60, 92, 124)]
    assert [p.name for p in tmp_path.iterdir()] == ["set"]  # no staging folder left behind
    with pytest.raises(ChoraleError, match=str(out)):
        corpus.build(out, limit=1, jobs=1)


def test_cli_refuses_to_overwrite_without_force(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["data", "build", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and str(tmp_path) in result.output
    assert (tmp_path / "keep.txt").read_text() == "mine"
