"""What a new user meets in the first hour (issue 15): quiet TensorFlow, the bundled model
everywhere, errors before slow imports, messages that say what they mean."""

import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from chorale.cli import cli
from chorale.io.files import bundled
from chorale.music import describe_faults, voice_leading_faults

CHORALE = bundled("chorales") / "test" / "chorale_004.csv"


def python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_tensorflow_loads_without_its_cpp_notes():
    done = python("import chorale.backend")
    assert done.returncode == 0 and done.stderr == ""


def test_a_wrong_model_folder_is_said_before_tensorflow_loads():
    done = python("import sys; from click.testing import CliRunner; from chorale.cli import cli; "
                  "r = CliRunner().invoke(cli, ['evaluate', '--model', 'nothere']); "
                  "print(r.exit_code, 'tensorflow' in sys.modules, r.output.strip())")
    assert done.stdout.strip().split(maxsplit=2) == ["1", "False", "Error: nothere: no such model folder"]


@pytest.mark.slow
def test_evaluate_defaults_to_the_bundled_model():
    # one chorale, not the split: the bundled model's scores are test_bundled_model's job
    result = CliRunner().invoke(cli, ["evaluate", "--json", "--data", str(CHORALE), "--split", "all"])
    assert result.exit_code == 0, result.output
    assert '"model": "' + str(bundled("model")) in result.output


def test_every_command_has_a_short_help_that_is_not_cut():
    for args in ([], ["data"], ["forecast"]):
        listing = CliRunner().invoke(cli, [*args, "--help"]).output.split("Commands:")[1]
        assert "..." not in listing, listing


def test_voice_leading_faults_are_named_and_counted():
    assert describe_faults(dict.fromkeys(voice_leading_faults([[60, 55, 52, 48]]), 0)) == "no voice-leading errors"
    crossed = [[60, 64, 55, 48]] * 2 + [[62, 65, 55, 48]] * 2  # alto above soprano, in both chords
    faults = voice_leading_faults(crossed)
    assert faults == {**dict.fromkeys(faults, 0), "crossings": 2}
    assert describe_faults(faults) == "2 voice-leading errors (2 voice crossings)"
    assert describe_faults({"spacing": 1}) == "1 voice-leading error (1 spacing error)"


def test_harmonize_says_which_voice_leading_errors(tmp_path):
    result = CliRunner().invoke(cli, ["harmonize", str(CHORALE), "--seed", "1", "--candidates", "2",
                                      "--out", str(tmp_path / "h.mid")])
    assert result.exit_code == 0, result.output
    said = result.output.splitlines()[-1]
    assert re.search(r"\): (no voice-leading errors|1 voice-leading error \(|\d+ voice-leading errors \()", said), said


def test_the_default_primer_is_shortened_for_a_short_piece(tmp_path):
    result = CliRunner().invoke(cli, ["generate", "--length", "16", "--seed", "1", "--out", str(tmp_path / "s.csv")])
    assert result.exit_code == 0, result.output
    assert sum(1 for _ in open(tmp_path / "s.csv")) == 17
    too_long = CliRunner().invoke(cli, ["generate", "--length", "16", "--primer", "test:1",
                                        "--out", str(tmp_path / "t.csv")])
    assert too_long.exit_code == 1 and "more than the 16 requested" in too_long.output


def test_only_the_chief_writes_the_run_on_several_machines(monkeypatch):
    import json

    import pytest

    from chorale import ChoraleError
    from chorale.model.train import is_chief

    def config(task, cluster=("worker",)):
        spec = {kind: ["127.0.0.1:1", "127.0.0.1:2"][:1 if kind == "chief" else 2] for kind in cluster}  # one chief
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": spec, "task": task}))
        return is_chief()

    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert is_chief()
    assert config({"type": "worker", "index": 0}) and not config({"type": "worker", "index": 1})
    assert config({"type": "chief", "index": 0}, ("chief", "worker"))
    assert not config({"type": "worker", "index": 0}, ("chief", "worker"))
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ChoraleError, match="TF_CONFIG"):
        is_chief()


def test_a_one_epoch_run_draws_its_points():
    from chorale.model.train import learning_curves

    figure = learning_curves([{"epoch": 1, "loss": 1.2, "accuracy": 0.6, "val_loss": 1.1, "val_accuracy": 0.62}])
    lines = [line for ax in figure.axes for line in ax.lines]
    assert len(lines) == 4 and all(line.get_marker() == "o" for line in lines)


def test_a_diverged_run_is_refused_not_saved(tmp_path):
    import math

    import pytest

    from chorale import ChoraleError
    from chorale.model.train import Checkpoint

    checkpoint = Checkpoint(tmp_path, [], patience=3)
    checkpoint.on_epoch_begin(0)
    with pytest.raises(ChoraleError, match="training diverged in epoch 1"):
        checkpoint.on_epoch_end(0, {"loss": math.nan, "accuracy": 0.1, "val_loss": math.nan, "val_accuracy": 0.1})
    assert list(tmp_path.iterdir()) == []


def test_an_existing_run_folder_is_said_before_tensorflow_loads(tmp_path):
    (tmp_path / "run").mkdir()
    done = python("import sys; from click.testing import CliRunner; from chorale.cli import cli; "
                  f"r = CliRunner().invoke(cli, ['train', '--out', {str(tmp_path / 'run')!r}]); "
                  "print(r.exit_code, 'tensorflow' in sys.modules)")
    assert done.stdout.split() == ["1", "False"], done.stdout + done.stderr


def test_a_cell_of_thousands_of_digits_is_a_one_line_error(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("note0,note1,note2,note3\n" + ",".join(["9" * 5000] * 4) + "\n")
    result = CliRunner().invoke(cli, ["render", str(path), "--midi", str(tmp_path / "big.mid")])
    assert result.exit_code == 1 and "is not a MIDI note" in result.output and "a bug in chorale" not in result.output
