"""Forecasting: the synthetic data, exact baselines, seq2seq targets without look-ahead,
every model for one epoch, the CSV forecaster on a known series, and bad CSV input."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from chorale import ChoraleError
from chorale.cli import cli
from chorale.forecast.models import (AHEAD_MODELS, NEXT_MODELS, Forecaster, build_model,
                              generate_series, mse, naive_forecast, output_positions,
                              run_synthetic, seq2seq_targets, split_sizes, synthetic_splits)
from chorale.forecast.series import load_series, seasonal_naive, windows


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_line_error(result, *fragments):
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ------------------------------------------------------------------------ synthetic data
def test_generator_is_seeded_bounded_and_split_like_the_chapter():
    a, b = generate_series(500, 51, seed=1), generate_series(500, 51, seed=1)
    assert a.shape == (500, 51) and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, generate_series(500, 51, seed=2))
    assert np.abs(a).max() <= 0.5 + 0.2 + 0.05 + 1e-6  # two sines + noise of amplitude 0.1
    assert np.abs(a).max() > 0.5 and abs(a.mean()) < 0.1
    assert split_sizes(10_000) == (7000, 2000, 1000)
    data = synthetic_splits("ahead", 100, seed=0)
    assert [d.shape for d in data.values()] == [(70, 60), (20, 60), (10, 60)]
    assert synthetic_splits("next", 100, seed=0)["test"].shape == (10, 51)


def test_naive_and_linear_baselines_are_exact_on_a_hand_made_series():
    S = np.array([[1, 2, 3, 4, 5], [5, 3, 1, -1, -3]], np.float32)  # window 3, horizon 2
    assert naive_forecast(S[:, :3], 2).tolist() == [[3, 3], [1, 1]]
    f = Forecaster("naive", window=3, horizon=2)
    assert f.predict(S).tolist() == [[3, 3], [1, 1]]
    assert mse(f.predict(S), S) == pytest.approx(np.mean([1, 4, 4, 16]))
    # Linear: Flatten + Dense(2) with the straight-line extrapolation weights is exact.
    linear = Forecaster("linear", 3, 2, build_model("linear", 3, 2))
    linear.model.set_weights([np.array([[0, 0], [-1, -2], [2, 3]], np.float32),
                              np.zeros(2, np.float32)])
    np.testing.assert_allclose(linear.predict(S), S[:, 3:], atol=1e-5)
    assert linear.parameters == 3 * 2 + 2


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 4), window=st.integers(1, 12), horizon=st.integers(1, 6),
       data=st.data())
def test_seq2seq_targets_match_a_brute_force_loop_and_never_look_back(n, window, horizon, data):
    S = np.arange(n * (window + horizon), dtype=np.float32).reshape(n, -1) * 10
    S += np.arange(n)[:, None]  # value = 10 * time index + series number
    Y = seq2seq_targets(S, window)
    assert Y.shape == (n, window, horizon)
    for i in range(n):
        for t in range(window):
            for k in range(horizon):
                assert Y[i, t, k] == S[i, t + 1 + k]
                assert (Y[i, t, k] - i) / 10 > t  # only values after step t
    # Outputs that saw inputs up to given steps (a strided conv; -1 = padding only).
    positions = np.array(sorted(set(data.draw(st.lists(st.integers(-1, window - 1),
                                                        min_size=1)))))
    Yp = seq2seq_targets(S, window, positions)
    for j, t in enumerate(positions):
        assert Yp[:, j].tolist() == S[:, t + 1:t + 1 + horizon].tolist()


def test_output_positions_follow_each_architecture_and_catch_look_ahead():
    import keras

    assert output_positions(build_model("seq2seq", 12, 3), 12).tolist() == list(range(12))
    assert output_positions(build_model("wavenet", 12, 3), 12).tolist() == list(range(12))
    conv = output_positions(build_model("conv-gru", 12, 3), 12)
    assert conv[-1] == 11 and np.all(np.diff(conv) == 2)  # stride 2, last step seen
    peeking = keras.Sequential([keras.Input((12, 1)), keras.layers.Conv1D(3, 3, padding="same")])
    with pytest.raises(ChoraleError, match="not causal"):
        output_positions(peeking, 12)


# ---------------------------------------------------------------- every model, one epoch
@pytest.mark.slow
def test_every_next_step_model_trains_for_one_epoch():
    result = run_synthetic("next", epochs=1, seed=0, n_series=60)
    rows = {r["model"]: r for r in result["models"]}
    assert list(rows) == list(NEXT_MODELS)
    test = synthetic_splits("next", 60, seed=0)["test"]
    assert rows["naive"]["test_mse"] == pytest.approx(mse(naive_forecast(test[:, :50], 1), test))
    assert rows["naive"]["parameters"] == 0 and rows["rnn"]["parameters"] == 3  # SimpleRNN(1)
    assert all(np.isfinite(r["test_mse"]) and r["parameters"] >= 0 for r in rows.values())


@pytest.mark.slow
def test_every_ahead_model_via_the_cli_with_uncertainty_json_and_plot(tmp_path):
    out, png = tmp_path / "r.json", tmp_path / "r.png"
    result = run("forecast", "synthetic", "--task", "ahead", "--epochs", 1, "--n-series", 40,
                 "--uncertainty", 3, "--json", out, "--plot", png)
    assert result.exit_code == 0, result.output
    assert "conv-gru" in result.output and "wavenet" in result.output
    r = json.loads(out.read_text())
    assert [m["model"] for m in r["models"]] == list(AHEAD_MODELS) and r["split"] == [28, 8, 4]
    for m in r["models"]:
        assert np.isfinite(m["test_mse"]) and np.isfinite(m["mc_test_mse"])
        band = r["examples"]["forecasts"][m["model"]]
        assert np.array(band["mean"]).shape == (3, 10)
        assert np.all(np.array(band["low"]) <= np.array(band["high"]))
    assert png.stat().st_size > 10_000
    # Outputs are never overwritten without --force, and that is checked before training.
    again = run("forecast", "synthetic", "--json", out)
    one_line_error(again, "exists", "--force")


def test_unknown_model_is_a_one_line_error():
    one_line_error(run("forecast", "synthetic", "--models", "naive,transformer"), "transformer")


# --------------------------------------------------------------------------------- CSV
def write(tmp_path, text, name="s.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_forecaster_on_a_short_known_series(tmp_path):
    dates = pd.date_range("2024-01-01", periods=60, freq="D")
    values = np.tile([1.0, 3.0, 2.0, 5.0], 15) + 2 * np.arange(60)  # period 4, slope 2
    path = tmp_path / "s.csv"
    pd.DataFrame({"day": dates.strftime("%Y-%m-%d"), "y": values}).to_csv(path, index=False)
    out, png = tmp_path / "f.csv", tmp_path / "f.png"
    result = run("forecast", "csv", path, "--column", "y", "--time-column", "day", "--window", 8,
                 "--horizon", 3, "--season", 4, "--model", "naive", "--out", out, "--plot", png)
    assert result.exit_code == 0, result.output
    assert "train 42, validation 9, test 9" in result.output
    # Naive: the last value for 3 steps; seasonal naive: the value a period ago, plus the
    # trend of one period (8) that it cannot see. Both known exactly on this series.
    S = windows(values, 51, 60, 8, 3)
    assert len(S) == 7 and f"({len(S)} windows)" in result.output
    naive = np.mean((S[:, 8:] - S[:, 7:8]) ** 2)
    rows = result.output.split("MAE\n")[1].split("Forecast")[0].strip().splitlines()
    scores = [cell for row in rows for cell in row.split()[-2:]]
    assert float(rows[0].split()[-2]) == pytest.approx(naive, rel=1e-4)
    assert len({len(cell.split(".")[1]) for cell in scores}) == 1  # every score with the same decimals
    assert np.allclose(seasonal_naive(S, 8, 3, 4), S[:, 8:] - 8)
    assert "64" in result.output.split("seasonal-naive (P=4)")[1].split()[0]
    table = pd.read_csv(out)
    assert list(table.columns) == ["day", "forecast", "lower", "upper"]
    assert table["day"].tolist() == ["2024-03-01", "2024-03-02", "2024-03-03"]
    assert np.allclose(table["forecast"], values[-1]) and np.allclose(table["lower"], values[-1])
    assert png.stat().st_size > 5_000


def test_csv_forecaster_trains_a_model_for_one_epoch(tmp_path):
    path = write(tmp_path, "y\n" + "\n".join(f"{np.sin(i / 3):.4f}" for i in range(60)) + "\n")
    result = run("forecast", "csv", path, "--column", "y", "--window", 8, "--horizon", 3,
                 "--model", "seq2seq", "--epochs", 1, "--uncertainty", 5)
    assert result.exit_code == 0, result.output
    assert "seq2seq" in result.output and "MC dropout" in result.output
    forecast = result.output.split("passes:")[1].split()
    assert forecast[:4] == ["step", "forecast", "lower", "upper"] and forecast[4] == "60"


def test_fill_repairs_missing_values_and_missing_time_steps(tmp_path):
    path = write(tmp_path, "t,y\n0,1\n1,\n2,3\n4,7\n5,8\n")
    series = load_series(path, "y", "t", fill="linear")
    assert series.values.tolist() == [1, 2, 3, 5, 7, 8] and series.filled == 2
    assert load_series(path, "y", "t", fill="previous").values.tolist() == [1, 1, 3, 3, 7, 8]


@pytest.mark.parametrize("text, args, fragments", [
    (None, [], ["no such file"]),
    ("y\n1\n2\n", ["--column", "sales"], ["no column 'sales'", "columns: y"]),
    ("y\n1\nabc\n3\n", [], ["line 3", "'abc' is not a number"]),
    ("x,y\n0,1\n1,\n2,3\n", [], ["1 missing value", "--fill"]),
    ("y\n1\nNaN\n3\n4\n", [], ["1 missing value", "first at line 3"]),
    ("t,y\n1,1\n2,2\n4,4\n", ["--time-column", "t"], ["1 missing step", "--fill"]),
    ("t,y\n1,1\n3,2\n2,4\n", ["--time-column", "t"], ["not increasing at line 4"]),
    ("t,y\n1,1\n1,2\n2,4\n", ["--time-column", "t"], ["not increasing at line 3"]),
    ("t,y\n2024-01-01,1\nsoon,2\n", ["--time-column", "t"], ["'soon' is not a date"]),
    ("t,y\n0,1\n1,2\n2.5,4\n", ["--time-column", "t"], ["irregular steps"]),
    ("y\n" + "1\n" * 30, ["--window", 20, "--horizon", 5], ["too short", "30 values",
                                                            "at least 35"]),
    ("y\n" + "1\n" * 100, ["--window", 8, "--season", 12], ["--season"]),
])
def test_bad_csv_input_is_a_one_line_error(tmp_path, text, args, fragments):
    path = tmp_path / "s.csv" if text is None else write(tmp_path, text)
    args = args if "--column" in args else ["--column", "y", *args]
    one_line_error(run("forecast", "csv", path, "--model", "naive", *args), *fragments)


def test_csv_outputs_are_not_overwritten_without_force(tmp_path):
    path = write(tmp_path, "y\n" + "1\n" * 100)
    (tmp_path / "f.csv").write_text("keep")
    result = run("forecast", "csv", path, "--column", "y", "--out", tmp_path / "f.csv")
    one_line_error(result, "exists", "--force")
    assert (tmp_path / "f.csv").read_text() == "keep"
    forced = run("forecast", "csv", path, "--column", "y", "--window", 8, "--horizon", 2,
                 "--model", "naive", "--out", tmp_path / "f.csv", "--force")
    assert forced.exit_code == 0, forced.output
    assert pd.read_csv(tmp_path / "f.csv")["forecast"].tolist() == [1.0, 1.0]


def test_no_band_columns_without_uncertainty(tmp_path):
    path = write(tmp_path, "y\n" + "\n".join(str(i % 7) for i in range(60)) + "\n")
    out = tmp_path / "f.csv"
    result = run("forecast", "csv", path, "--column", "y", "--window", 8, "--horizon", 3, "--model", "naive",
                 "--uncertainty", 0, "--out", out)
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(out).columns) == ["step", "forecast"]
    assert "lower" not in result.output
