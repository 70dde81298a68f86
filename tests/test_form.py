"""Form (issue 13) through the API and CLI: the planned key reaches the files, fermatas
where asked, a held last chord, and one-line errors for a bad key or bad fermatas."""

import mido
import numpy as np
import pytest
from click.testing import CliRunner

from chorale import ChoraleError
from chorale.cli import cli
from chorale.encoding import STEPS_PER_BAR
from chorale.form import fermata_steps, parse_bars_list, resolve_key
from chorale.io.musicxml import to_score
from chorale.sampling.harmonize import read_line


def test_the_bundled_model_follows_a_plan(model):
    assert model.card["plan"] >= 1 and model.sampler.plan_columns


def test_default_fermatas_every_second_bar_and_on_the_last_chord():
    assert fermata_steps(None, 16 * STEPS_PER_BAR) == (28, 60, 92, 124, 156, 188, 220, 255)
    assert fermata_steps([2, 4], 4 * STEPS_PER_BAR) == (28, 63)  # bar 4's is the final chord's
    assert fermata_steps("1 3", 4 * STEPS_PER_BAR) == (12, 44, 63)


@pytest.mark.parametrize("bars, message", [
    ([20], r"fermata bar 20 is outside the piece \(bars 1-16\)"),
    ("4,2", "do not increase"),
    ("2,x", "'x' is not a bar number"),
])
def test_bad_fermatas_are_refused(bars, message):
    with pytest.raises(ChoraleError, match=message):
        fermata_steps(bars, 16 * STEPS_PER_BAR)


def test_key_comes_from_the_request_the_primer_or_the_seed():
    rests = np.zeros((1, 4), np.int32)
    assert resolve_key("d minor", rests, 0) == (2, "minor")
    g_major = np.array([[67, 62, 59, 43]] * 8 + [[66, 62, 57, 50]] * 8 + [[67, 62, 59, 43]] * 8)
    assert resolve_key(None, g_major, 0) == (7, "major")
    drawn = {resolve_key(None, rests, seed) for seed in range(30)}
    assert len(drawn) > 2 and resolve_key(None, rests, 7) == resolve_key(None, rests, 7)
    with pytest.raises(ChoraleError, match="unknown key 'H major': expected a tonic A-G"):
        resolve_key("H major", rests, 0)
    assert parse_bars_list("2, 4 6") == [2, 4, 6]


def test_the_planned_key_reaches_the_midi_file_and_the_spelling(model, tmp_path):
    piece = model.generate(seed=3, primer="none", key="D minor", bars=4)
    assert piece.key == "D minor" and piece.title == "Chorale in D minor (seed 3)"
    piece.save(tmp_path / "d.mid")
    piece.save(tmp_path / "d.musicxml")
    signatures = [m.key for m in mido.MidiFile(tmp_path / "d.mid").tracks[0] if m.type == "key_signature"]
    assert signatures == ["Dm"]
    from music21 import converter

    score = converter.parse(tmp_path / "d.musicxml")
    assert score.recurse().getElementsByClass("KeySignature").first().sharps == -1
    spelled = {p.name for p in score.pitches}
    assert "A#" not in spelled and "D#" not in spelled  # B-flat and E-flat, as D minor writes them


def test_fermatas_reach_the_score_and_the_last_chord_is_held(model, tmp_path):
    piece = model.generate(seed=1, bars=4, fermatas="2")
    assert piece.fermatas == (28, 63) and piece.details["fermatas"] == [28, 63]
    assert (piece.grid[-8:] == piece.grid[-1]).all()  # the final chord held for a half note
    piece.save(tmp_path / "f.musicxml")
    from music21 import converter

    marked = [n for n in converter.parse(tmp_path / "f.musicxml").parts[0].flatten().notes
              if any(type(e).__name__ == "Fermata" for e in n.expressions)]
    assert len(marked) == 2


def test_a_musicxml_melody_brings_its_fermatas(tmp_path):
    grid = np.array([[67, 0, 0, 0]] * 8 + [[69, 0, 0, 0]] * 8 + [[71, 0, 0, 0]] * 16)
    to_score(grid, fermatas=(8, 16)).write("musicxml", fp=tmp_path / "tune.musicxml")
    line, fermatas = read_line(tmp_path / "tune.musicxml")
    assert len(line) == 32 and fermatas == (8, 16)


def test_harmonize_follows_the_melody_plan(model, tmp_path):
    grid = np.array([[67, 0, 0, 0]] * 8 + [[69, 0, 0, 0]] * 8 + [[71, 0, 0, 0]] * 8 + [[67, 0, 0, 0]] * 8)
    to_score(grid, fermatas=(16, 24)).write("musicxml", fp=tmp_path / "tune.musicxml")
    satb = model.harmonize(str(tmp_path / "tune.musicxml"), candidates=2, seed=1, key="G major")
    assert satb.key == "G major" and satb.fermatas == (16, 24, 31)
    np.testing.assert_array_equal(satb.grid[:, 0], grid[:, 0])


@pytest.mark.parametrize("args, message, code", [
    (["--key", "H major"], "unknown key 'H major'", 2),  # usage errors: the text alone says what is wrong
    (["--fermatas", "20"], "outside the piece", 1),  # known only once the length is
    (["--fermatas", "4,2"], "do not increase", 2),
    (["--fermatas", "two"], "not a bar number", 2),
])
def test_cli_bad_plan_writes_nothing(tmp_path, args, message, code):
    result = CliRunner().invoke(cli, ["generate", "--seed", "1", *args, "--out", str(tmp_path / "x.mid")])
    assert result.exit_code == code and message in result.output, result.output
    assert list(tmp_path.iterdir()) == []


def test_cli_says_the_key(tmp_path):
    result = CliRunner().invoke(cli, ["generate", "--seed", "2", "--primer", "none", "--key", "E minor",
                                      "--bars", "4", "--out", str(tmp_path / "e.mid")])
    assert result.exit_code == 0 and "in E minor" in result.output, result.output


def test_planned_cadences_close_on_the_tonic(model):
    """Without the voice-leading guard (which may overrule them) the final chord is the
    tonic triad over the tonic, and phrase-end basses close on the key's or its relative's
    tonic or dominant."""
    from chorale.keys import tonic_triad
    from chorale.sampling.sample import PHRASE_BASS

    for seed in range(4):
        piece = model.generate(seed=seed, bars=4, primer="none", key="E minor", voice_leading=False)
        final = piece.grid[-1]
        assert final[3] % 12 == 4 and {p % 12 for p in final} <= tonic_triad(4, "minor", final=True)  # Picardy allowed
        assert piece.grid[28, 3] % 12 in {(4 + d) % 12 for d in PHRASE_BASS["minor"]}


def test_a_piece_begun_from_nothing_opens_on_its_tonic_chord(model):
    from chorale.keys import tonic_triad

    for seed in range(3):
        piece = model.generate(seed=seed, bars=2, primer="none", key="D minor", voice_leading=False)
        first = piece.grid[1]  # step 0 is the rest chord `--primer none` starts from
        assert first[3] % 12 == 2 and {p % 12 for p in first} <= tonic_triad(2, "minor")  # F, not F#


def test_a_planned_primer_lends_its_key(model):
    opening = model.generate(seed=2, bars=2, primer="none", key="A major")
    assert model.generate(seed=3, bars=4, primer=opening).key == "A major"
    assert model.generate(seed=3, bars=4, primer=opening, plan=False).key  # no plan: no error, an estimate
