"""`chorale harmonize`: the given voice is kept exactly, candidates pick the best, bad input fails in one line.

The model is a tiny random NumPy sampler (embedding + dense head) saved as a model folder,
so these tests never import TensorFlow.
"""

import json

import mido
import numpy as np
import pytest
from click.testing import CliRunner

from chorale import ChoraleError, music
from chorale.cli import cli
from chorale.data.loader import load
from chorale.io.csvfile import write_csv
from chorale.encoding import VOICES, Vocabulary, voice_ranges
from chorale.sampling.harmonize import best_candidate, fit_range, harmonize, read_line
from chorale.io.scores import read_grid
from chorale.music import voice_leading_errors
from chorale.sampling.stepper import SAMPLER_FILE, Sampler, file_hash

VOCAB = Vocabulary(36, 81)
RANGES = voice_ranges(load().grids("train"))


def toy_sampler(seed=0, width=16):
    rng = np.random.default_rng(seed)
    return Sampler([
        ("embedding", {"tokens": rng.normal(size=(VOCAB.size, width)).astype(np.float32)}),
        ("conv", {"kernel": rng.normal(size=(1, width, VOCAB.size)).astype(np.float32),
                  "bias": np.zeros(VOCAB.size, np.float32), "dilation": 1, "activation": "linear"}),
    ])


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A model folder whose sampler.npz matches its model.keras, so nothing loads Keras."""
    folder = tmp_path_factory.mktemp("toy")
    (folder / "model.keras").write_bytes(b"stands in for the Keras file")
    toy_sampler().save(folder / SAMPLER_FILE, file_hash(folder / "model.keras"))
    card = {"architecture": "gru", "vocabulary": VOCAB.to_dict(), "voice_ranges": RANGES.tolist()}
    (folder / "card.json").write_text(json.dumps(card))
    return folder


@pytest.fixture(scope="module")
def bach():
    return load()["test"][0].grid


def run(*args):
    result = CliRunner().invoke(cli, ["harmonize", *map(str, args)])
    return result, result.output


@pytest.mark.parametrize("voice, part", [("soprano", None), ("bass", "bass"), ("alto", "2")])
def test_harmonize_keeps_the_given_voice_exactly(model_dir, bach, tmp_path, voice, part):
    write_csv(tmp_path / "in.csv", bach)
    column = ["soprano", "alto", "tenor", "bass"].index(voice)
    source = column if part is None else int(part) if part.isdigit() else column
    args = ["--part", part] if part else []
    result, out = run(tmp_path / "in.csv", "--voice", voice, *args, "--model", model_dir, "--seed", 1,
                      "--candidates", 3, "--out", tmp_path / "out.csv")
    assert result.exit_code == 0, out
    grid = read_grid(tmp_path / "out.csv")
    melody = bach[:, source]
    sung = np.flatnonzero(melody)
    shift = int(grid[0, column] - melody[sung[0]])
    assert ("Transposed" in out) == (shift != 0)
    np.testing.assert_array_equal(grid[:, column], np.where(melody > 0, melody + shift, 0)[sung[0]: sung[-1] + 1])


def test_same_seed_same_file_and_chosen_candidate_is_its_own_seed(model_dir, bach, tmp_path):
    write_csv(tmp_path / "in.csv", bach)
    for name in ("a.csv", "b.csv"):
        result, out = run(tmp_path / "in.csv", "--model", model_dir, "--seed", 5, "--out", tmp_path / name)
        assert result.exit_code == 0, out
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    melody = bach[:, 0]
    several = harmonize(toy_sampler(), VOCAB, melody, "soprano", RANGES, 4, seed=5)
    alone = harmonize(toy_sampler(), VOCAB, melody, "soprano", RANGES, 1, seed=5 + several.chosen)
    np.testing.assert_array_equal(several.grid, alone.grid)


def test_candidates_choose_the_fewest_errors_then_the_highest_likelihood(bach):
    assert best_candidate([3, 1, 1, 2], [-0.5, -2.0, -1.0, -0.1]) == 2
    assert best_candidate([0, 0], [-1.0, -1.0]) == 0
    result = harmonize(toy_sampler(), VOCAB, bach[:, 0], "soprano", RANGES, 6, seed=0)
    best = min(zip(result.errors, -result.logliks))
    assert (result.errors[result.chosen], -result.logliks[result.chosen]) == best
    assert voice_leading_errors(result.grid) == result.errors[result.chosen]
    assert len(set(result.errors.tolist())) > 1  # the candidates differ, so the choice matters


@pytest.mark.parametrize("voice", ["soprano", "alto", "bass"])
def test_voice_leading_guard_also_watches_the_given_voice(bach, voice):
    """The given voice is known ahead of the voices sampled before it in each chord (those above
    it), so they avoid parallels with it too."""
    def parallels(voice_leading):
        result = harmonize(toy_sampler(), VOCAB, bach[:, VOICES.index(voice)], voice, RANGES, 4, seed=0,
                           voice_leading=voice_leading)
        motion = music._motion(result.grid)
        return motion["parallel_fifths"] + motion["parallel_octaves"]
    assert parallels(False) > 0 and parallels(True) == 0


def test_fit_range_prefers_octaves_then_the_smallest_shift():
    melody = np.array([48, 50, 0, 52])
    moved, shift = fit_range(melody, 60, 81)
    assert shift == 12 and moved.tolist() == [60, 62, 0, 64]
    moved, shift = fit_range(np.array([58, 68]), 60, 71)  # no octave fits: up a tone
    assert shift == 2
    with pytest.raises(ChoraleError, match="wider than the model's soprano range"):
        fit_range(np.array([40, 90]), 60, 81)


def _one_track_midi(path, notes):
    """(start, end, pitch) in 16ths on one track."""
    events = sorted([(s * 120, 1, mido.Message("note_on", note=p, velocity=80)) for s, _, p in notes]
                    + [(e * 120, 0, mido.Message("note_off", note=p)) for _, e, p in notes], key=lambda e: e[:2])
    track, now = mido.MidiTrack(), 0
    for tick, _, message in events:
        track.append(message.copy(time=tick - now))
        now = tick
    midi = mido.MidiFile(ticks_per_beat=480)
    midi.tracks.append(track)
    midi.save(path)


def test_read_line_trims_silence_and_refuses_chords(tmp_path):
    _one_track_midi(tmp_path / "tune.mid", [(4, 8, 67), (8, 12, 69), (12, 20, 71)])
    line, fermatas = read_line(tmp_path / "tune.mid")
    assert line.tolist() == [67] * 4 + [69] * 4 + [71] * 8 and fermatas == ()
    _one_track_midi(tmp_path / "chord.mid", [(0, 4, 67), (4, 8, 69), (4, 8, 64)])
    with pytest.raises(ChoraleError, match="chord at bar 1, beat 2"):
        read_line(tmp_path / "chord.mid")


@pytest.mark.parametrize("melody, message", [
    ([[0, 0, 0, 0]] * 4, "no notes"),
    ([[40, 0, 0, 0], [90, 0, 0, 0]], "wider than the model's soprano range"),
])
def test_bad_melodies_fail_in_one_line(model_dir, tmp_path, melody, message):
    write_csv(tmp_path / "bad.csv", np.array(melody))
    result, out = run(tmp_path / "bad.csv", "--model", model_dir, "--out", tmp_path / "out.mid")
    assert result.exit_code == 1 and message in out and len(out.strip().splitlines()) == 1, out
    assert not (tmp_path / "out.mid").exists()


def test_chord_in_a_midi_melody_fails_in_one_line(model_dir, tmp_path):
    _one_track_midi(tmp_path / "chord.mid", [(0, 4, 67), (0, 4, 64)])
    result, out = run(tmp_path / "chord.mid", "--model", model_dir, "--out", tmp_path / "out.mid")
    assert result.exit_code == 1 and "needs a single line" in out, out
