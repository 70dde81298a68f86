"""`chorale evaluate`: numbers on a hand-computable case, and bad inputs."""

import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from click.testing import CliRunner  # noqa: E402

from chorale.cli import cli  # noqa: E402
from chorale.io.csvfile import write_csv  # noqa: E402
from chorale.model.evaluate import evaluate  # noqa: E402

P = np.array([0.1, 0.2, 0.3, 0.4])  # constant_run's next-token distribution (tests/conftest.py)
CHORD = [62, 61, 60, 0]  # tokens 3, 2, 1, 0 in its Vocabulary(60, 62)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, constant_run):
    return constant_run(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    (folder / "test").mkdir()
    write_csv(folder / "test" / "chorale_000.csv", np.array([CHORD] * 33))  # exactly one window
    write_csv(folder / "test" / "chorale_001.csv", np.array([CHORD] * 20))  # too short for a window
    return folder


def test_numbers_by_hand(model_dir, data):
    r = evaluate(model_dir, data, "test")
    # One window: 131 targets, the tokens after the first: alto, tenor, bass, soprano, ...
    # soprano (p .4) 32 times, alto (.3), tenor (.2) and bass-rest (.1) 33 times each.
    nll = -(32 * math.log(0.4) + 33 * (math.log(0.3) + math.log(0.2) + math.log(0.1))) / 131
    w = r["windowed"]
    assert w["tokens"] == 131
    assert w["nll"] == pytest.approx(nll)
    assert w["accuracy"] == pytest.approx(32 / 131)  # the argmax is always the soprano's token
    assert w["per_voice"] == pytest.approx({"soprano": -math.log(0.4), "alto": -math.log(0.3),
                                            "tenor": -math.log(0.2), "bass": -math.log(0.1)})
    # Whole chorales: 131 + 79 targets (the shorter one is padded, its padding not scored);
    # the second adds 19 soprano targets and 20 of each other voice.
    whole = -(51 * math.log(0.4) + 53 * (math.log(0.3) + math.log(0.2) + math.log(0.1))) / 210
    assert r["whole"]["tokens"] == 210
    assert r["whole"]["nll"] == pytest.approx(whole)
    assert r["whole"]["accuracy"] == pytest.approx(51 / 210)


def test_cli_prints_both_protocols(model_dir, data):
    result = CliRunner().invoke(cli, ["evaluate", "--model", str(model_dir), "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert "windowed" in result.output and "whole" in result.output


def one_line_error(args, *words):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and all(w in lines[0] for w in words), result.output


def test_bad_inputs(model_dir, data, tmp_path):
    one_line_error(["evaluate", "--model", str(tmp_path / "none"), "--data", str(data)], "no such model folder")
    one_line_error(["evaluate", "--model", str(model_dir), "--data", str(tmp_path / "none")], "no such file")
    one_line_error(["evaluate", "--model", str(model_dir), "--data", str(data), "--split", "valid"], "no 'valid'")

    outside = tmp_path / "outside"
    (outside / "test").mkdir(parents=True)
    write_csv(outside / "test" / "chorale_000.csv", np.array([[70, 61, 60, 0]] * 10))
    one_line_error(["evaluate", "--model", str(model_dir), "--data", str(outside)], "chorale_000.csv", "outside")

    no_card = tmp_path / "no_card"
    no_card.mkdir()
    (no_card / "model.keras").write_bytes((model_dir / "model.keras").read_bytes())
    one_line_error(["evaluate", "--model", str(no_card), "--data", str(data)], "no card.json")

    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "card.json").write_text((model_dir / "card.json").read_text())
    (corrupt / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")
    one_line_error(["evaluate", "--model", str(corrupt), "--data", str(data)], "not a loadable")

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "card.json").write_text((model_dir / "card.json").read_text())
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save(foreign / "model.keras")
    one_line_error(["evaluate", "--model", str(foreign), "--data", str(data)], "classes")
