"""`chorale generate`: reproducible files, batches, primers, and one-line errors for bad input."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from chorale import music
from chorale.cli import cli
from chorale.data.loader import load
from chorale.io.csvfile import write_csv
from chorale.encoding import Vocabulary, voice_ranges
from chorale.io.scores import read_grid
from chorale.sampling.cache import load_sampler
from chorale.sampling.stepper import SAMPLER_FILE, Sampler, file_hash


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, randomized):
    """A model folder as `chorale train` leaves it: model.keras and card.json."""
    folder = tmp_path_factory.mktemp("model")
    model = randomized("wavenet")
    model.save(folder / "model.keras")
    ranges = voice_ranges(load().grids("train")).tolist()
    card = {"architecture": "wavenet", "vocabulary": Vocabulary(36, 81).to_dict(), "voice_ranges": ranges}
    (folder / "card.json").write_text(json.dumps(card))
    return folder


def run(*args):
    result = CliRunner().invoke(cli, ["generate", *map(str, args)])
    return result, result.output


def test_same_seed_same_bytes_and_batch_matches_single(model_dir, tmp_path):
    for name in ("a.mid", "b.mid"):
        result, out = run("--model", model_dir, "--seed", 3, "--bars", 4, "--out", tmp_path / name)
        assert result.exit_code == 0, out
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()
    result, out = run("--model", model_dir, "--seed", 3, "--bars", 4, "--count", 2, "--out", tmp_path / "s.mid")
    assert result.exit_code == 0, out
    assert (tmp_path / "s-01.mid").read_bytes() == (tmp_path / "a.mid").read_bytes()
    assert (tmp_path / "s-02.mid").read_bytes() != (tmp_path / "a.mid").read_bytes()
    assert "seed 4" in out


def test_default_primer_is_the_seeds_test_chorale(model_dir, tmp_path):
    result, out = run("--model", model_dir, "--seed", 5, "--bars", 3, "--out", tmp_path / "x.csv")
    assert result.exit_code == 0, out
    grid = read_grid(tmp_path / "x.csv")
    test = load()["test"]
    assert grid.shape == (48, 4)
    np.testing.assert_array_equal(grid[:32], test[5 % len(test)].grid[:32])


def test_primer_file_and_range_guard(model_dir, tmp_path):
    write_csv(tmp_path / "p.csv", np.array([[72, 67, 64, 48]] * 8))
    result, out = run("--model", model_dir, "--seed", 1, "--length", 200, "--primer", tmp_path / "p.csv",
                      "--out", tmp_path / "g.csv")
    assert result.exit_code == 0, out
    grid = read_grid(tmp_path / "g.csv")
    assert grid.shape == (200, 4) and (grid[:8] == [72, 67, 64, 48]).all()
    ranges = json.loads((model_dir / "card.json").read_text())["voice_ranges"]
    for v, (low, high) in enumerate(ranges):
        sung = grid[:, v][grid[:, v] > 0]
        assert sung.min() >= low and sung.max() <= high


def test_voice_leading_guard_is_on_by_default(model_dir, tmp_path):
    found = {}
    for flag in ("--voice-leading", "--no-voice-leading", None):
        result, out = run("--model", model_dir, "--seed", 2, "--length", 160, *([flag] if flag else []),
                          "--out", tmp_path / f"{flag}.csv")
        assert result.exit_code == 0, out
        motion = music._motion(read_grid(tmp_path / f"{flag}.csv")[31:])  # from the primer's last chord
        found[flag] = motion["parallel_fifths"] + motion["parallel_octaves"]
    assert found["--no-voice-leading"] > 0 and found["--voice-leading"] == found[None] == 0


def test_sampler_file_is_reused_only_for_the_same_weights(model_dir):
    load_sampler(model_dir)
    saved = Sampler.load(model_dir / SAMPLER_FILE, file_hash(model_dir / "model.keras"))
    assert saved is not None and [k for k, _ in saved.layers][0] == "embedding"
    assert Sampler.load(model_dir / SAMPLER_FILE, "another model") is None


@pytest.mark.parametrize(
    "args, message",
    [
        (["--primer", "test:9999"], "no primer 'test:9999'"),
        (["--primer", "nowhere.mid"], "nowhere.mid"),
        (["--length", 4, "--primer", "test:0"], "the primer has 32 steps, more than the 4 requested"),
        (["--model", "no-such-model"], "no-such-model: no such model folder"),
        (["--out", "missing-folder/x.mid"], "folder missing-folder does not exist"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(model_dir, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    if "--model" not in args:
        args = ["--model", model_dir, *args]
    if "--out" not in args:
        args = [*args, "--out", "x.mid"]
    result, out = run(*args)
    assert result.exit_code == 1, out
    lines = out.strip().splitlines()
    assert lines[-1].startswith("Error: ") and message in lines[-1] and "Traceback" not in out
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("option, value", [("--temperature", 0), ("--temperature", "nan"), ("--top-p", 1.5),
                                           ("--top-k", 0), ("--seed", -1), ("--length", 10**10)])
def test_bad_option_value_is_a_usage_error_and_writes_nothing(model_dir, tmp_path, monkeypatch, option, value):
    monkeypatch.chdir(tmp_path)
    result, out = run("--model", model_dir, option, value, "--out", "x.mid")
    assert result.exit_code == 2 and f"Invalid value for '{option}'" in out and not list(tmp_path.iterdir())


def test_primer_outside_the_vocabulary_names_the_note(model_dir, tmp_path):
    write_csv(tmp_path / "high.csv", np.array([[96, 67, 64, 48]]))
    result, out = run("--model", model_dir, "--primer", tmp_path / "high.csv", "--out", tmp_path / "x.mid")
    assert result.exit_code == 1
    assert "pitch 96 (C7) is outside the model's range 36..81 (C2..A5)" in out


def test_existing_output_needs_force(model_dir, tmp_path):
    (tmp_path / "x.mid").write_bytes(b"keep")
    result, out = run("--model", model_dir, "--bars", 3, "--out", tmp_path / "x.mid")
    assert result.exit_code == 1 and "already exists" in out
    assert (tmp_path / "x.mid").read_bytes() == b"keep"
    result, out = run("--model", model_dir, "--bars", 3, "--out", tmp_path / "x.mid", "--force")
    assert result.exit_code == 0 and (tmp_path / "x.mid").read_bytes() != b"keep"


def test_unknown_output_type_is_a_usage_error(model_dir, tmp_path):
    result, out = run("--model", model_dir, "--out", tmp_path / "x.mp3")
    assert result.exit_code == 2 and "expected a .mid or .csv file" in out
