"""Forecasting a user's own series from a CSV file (`chorale forecast csv`).

The series is split chronologically into train / validation / test parts (70/15/15,
each of the last two at least one horizon long). Scaling is fitted on the training part
only. A window of W values forecasts the next H, as changes from the window's last
value (so levels and trends beyond the training range stay within reach). The model
trains on windows whose targets lie in the training part, stops early on the
validation part, and is backtested on every window whose targets lie in the test part,
beside the naive and seasonal-naive baselines. Finally it forecasts the H steps after the end of the data,
with a Monte Carlo dropout band (mean ± 2 standard deviations).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from chorale import ChoraleError

FILLS = ("previous", "linear")
MAX_VALUE = 1e100  # far from float64's 1.8e308, so sums, differences and squares stay finite


@dataclass
class Series:
    values: np.ndarray  # float64, no NaN
    times: object = None  # pd.DatetimeIndex, float array, or None (row numbers)
    step: object = None  # the time step: a pandas offset/Timedelta, a number, or None
    time_name: str = "step"
    filled: int = 0  # values filled in by --fill
    source: str = "the series"  # named in errors: the file it came from


def _line(i: int) -> int:
    return i + 2  # the header is line 1


def load_series(path, column: str, time_column: str | None = None,
                fill: str | None = None) -> Series:
    """Read one numeric column (and an optional time column) from a CSV file."""
    import io

    from chorale.io.files import read_input
    from chorale.limits import MAX_SERIES_ROWS, MAX_TEXT_BYTES

    path = Path(path)
    data = read_input(path, MAX_TEXT_BYTES, "series CSV")
    try:
        df = pd.read_csv(io.BytesIO(data))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise ChoraleError(f"{path}: not a readable CSV file ({str(e).strip()})") from None
    if len(df) > MAX_SERIES_ROWS:
        raise ChoraleError(f"{path}: {len(df):,} rows, more than the limit of {MAX_SERIES_ROWS:,} for a series")
    for name in filter(None, (column, time_column)):
        if name not in df.columns:
            raise ChoraleError(f"{path}: no column '{name}' "
                               f"(columns: {', '.join(map(str, df.columns))})")
    if fill is not None and fill not in FILLS:
        raise ChoraleError(f"--fill must be one of {', '.join(FILLS)}")
    raw = df[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ChoraleError(f"{path}: column '{column}', line {_line(i)}: "
                           f"{raw.iloc[i]!r} is not a number")
    if (np.abs(values) > MAX_VALUE).any():  # differences and squares of larger values overflow to inf and NaN
        i = int(np.flatnonzero((np.abs(values) > MAX_VALUE).to_numpy())[0])
        raise ChoraleError(f"{path}: column '{column}', line {_line(i)}: {raw.iloc[i]} is beyond "
                           f"±{MAX_VALUE:g}; rescale the column")
    series = Series(values.to_numpy(float), source=str(path))
    if time_column:
        values = _on_time_grid(path, df[time_column], values, series, fill)
        series.time_name = time_column
    missing = np.flatnonzero(np.isnan(values.to_numpy(float)))
    if len(missing) == len(values):
        raise ChoraleError(f"{path}: column '{column}' has no values")
    if len(missing) and fill is None:
        where = (f"at {series.times[missing[0]]}" if time_column
                 else f"first at line {_line(int(missing[0]))}")
        raise ChoraleError(f"{path}: column '{column}' has {len(missing)} missing value(s) "
                           f"({where}); fill them with --fill previous or --fill linear")
    if len(missing):
        values = (values.ffill().bfill() if fill == "previous"
                  else values.interpolate(limit_direction="both"))
    series.values, series.filled = values.to_numpy(float), len(missing)
    return series


def _on_time_grid(path, raw_times, values, series: Series, fill):
    """Check the time column (parsed, increasing, regular) and put the values on a
    regular grid; missing time steps become NaN (an error unless --fill)."""
    name = raw_times.name
    if raw_times.isna().any():
        i = int(np.flatnonzero(raw_times.isna().to_numpy())[0])
        raise ChoraleError(f"{path}: time column '{name}', line {_line(i)}: missing time")
    numeric = pd.to_numeric(raw_times, errors="coerce")
    if numeric.notna().all():
        times = numeric.to_numpy(float)
    else:
        times = pd.to_datetime(raw_times, errors="coerce")
        if times.isna().any():
            i = int(np.flatnonzero(times.isna().to_numpy())[0])
            raise ChoraleError(f"{path}: time column '{name}', line {_line(i)}: "
                               f"{raw_times.iloc[i]!r} is not a date or a number")
        times = pd.DatetimeIndex(times)
    diffs = np.diff(np.asarray(times))
    zero = diffs.dtype.type(0)
    if len(diffs) and (diffs <= zero).any():
        i = int(np.flatnonzero(diffs <= zero)[0]) + 1
        raise ChoraleError(f"{path}: time column '{name}' is not increasing at line "
                           f"{_line(i)} ({raw_times.iloc[i - 1]} then {raw_times.iloc[i]})")
    if len(times) < 2:
        series.times, series.step = times, None
        return values
    freq = _regular_frequency(times)
    if freq:
        series.times, series.step = times, pd.tseries.frequencies.to_offset(freq)
        return values
    step = diffs.min()
    ratio = diffs / step
    if not np.allclose(ratio, np.round(ratio), rtol=0, atol=1e-6):
        raise ChoraleError(f"{path}: time column '{name}' has irregular steps "
                           f"(not multiples of the smallest step, {_fmt_step(step)})")
    n_missing = int(np.round(ratio).sum() - len(diffs))
    if n_missing and fill is None:
        i = int(np.flatnonzero(ratio > 1.5)[0]) + 1
        raise ChoraleError(f"{path}: time column '{name}' has {n_missing} missing step(s) "
                           f"(first gap before line {_line(i)}, {raw_times.iloc[i]}); "
                           f"fill them with --fill previous or --fill linear")
    index = np.round((np.asarray(times) - np.asarray(times)[0]) / step).astype(int)
    grid = np.full(index[-1] + 1, np.nan)
    grid[index] = values.to_numpy(float)
    if isinstance(times, pd.DatetimeIndex):
        step = pd.Timedelta(step)
        series.times = pd.DatetimeIndex([times[0] + k * step for k in range(len(grid))])
    else:
        series.times = times[0] + step * np.arange(len(grid))
    series.step = step
    return pd.Series(grid)


def _fmt_step(step) -> str:
    return str(pd.Timedelta(step)) if isinstance(step, np.timedelta64) else f"{step:g}"


def future_times(series: Series, horizon: int):
    """Times of the H steps after the end of the data."""
    n = len(series.values)
    if series.times is None or series.step is None:
        return np.arange(n, n + horizon)
    last = series.times[-1]
    return [last + (k + 1) * series.step for k in range(horizon)]


# ------------------------------------------------------------------------ forecasting
def split_sizes(n: int, horizon: int) -> tuple[int, int, int]:
    """Train / validation / test lengths: 70/15/15, the last two at least H long."""
    held = max(horizon, round(0.15 * n))
    return n - 2 * held, held, held


def min_length(window: int, horizon: int) -> int:
    n = window + 3 * horizon
    while split_sizes(n, horizon)[0] < window + horizon:
        n += 1
    return n


def windows(values: np.ndarray, start: int, stop: int, window: int, horizon: int):
    """Every window (W + H values) whose H targets lie in values[start:stop]."""
    first = max(start, window)
    return np.array([values[t - window:t + horizon] for t in range(first, stop - horizon + 1)])


def seasonal_naive(S: np.ndarray, window: int, horizon: int, season: int) -> np.ndarray:
    """y[T + h] = y[T + h - P * (floor((h - 1) / P) + 1)], from each window's inputs."""
    k = np.arange(horizon)
    return S[:, window - season + k % season]


def forecast_series(series: Series, model: str = "gru", window: int = 50,
                    horizon: int = 10, season: int | None = None, epochs: int = 20,
                    seed: int = 42, samples: int = 100, dropout: float = 0.1,
                    patience: int = 5, verbose: int = 0) -> dict:
    """Backtest `model` on the test part and forecast the next H steps."""
    from chorale.backend import keras

    from chorale.forecast.models import MODELS, naive_forecast, train

    if model not in MODELS:
        raise ChoraleError(f"unknown model '{model}' (choose from {', '.join(MODELS)})")
    if season is not None and not 1 <= season <= window:
        raise ChoraleError(f"--season must be between 1 and the window ({window})")
    values, n = series.values, len(series.values)
    if n < min_length(window, horizon):
        raise ChoraleError(f"{series.source}: the series has {n} values: too short for a window of {window} "
                           f"and a horizon of {horizon} (at least "
                           f"{min_length(window, horizon)} needed for training, validation "
                           f"and test parts); use a smaller --window or --horizon")
    n_train, n_valid, _ = split_sizes(n, horizon)
    mean, std = values[:n_train].mean(), values[:n_train].std()
    std = std if std > 0 else 1.0
    scaled = ((values - mean) / std).astype(np.float32)
    parts = {"train": (0, n_train), "valid": (n_train, n_train + n_valid),
             "test": (n_train + n_valid, n)}
    S = {k: windows(scaled, a, b, window, horizon) for k, (a, b) in parts.items()}
    # Each window is taken relative to its last input value: the model forecasts changes,
    # so a level or a trend beyond the training range stays within reach.
    rel = {k: w - w[:, window - 1:window] for k, w in S.items()}

    keras.utils.set_random_seed(seed)
    f = train(model, rel["train"], rel["valid"], window, horizon, epochs, dropout,
              patience=patience, verbose=verbose)
    actual = S["test"][:, window:] * std + mean
    inputs = S["test"] * std + mean
    offset = S["test"][:, window - 1:window]
    predictions = {model: (f.predict(rel["test"]) + offset) * std + mean,
                   "naive": naive_forecast(inputs[:, :window], horizon)}
    if season:
        predictions[f"seasonal-naive (P={season})"] = seasonal_naive(inputs, window,
                                                                    horizon, season)
    backtest = {name: {"mse": float(np.mean((p - actual) ** 2)),
                       "mae": float(np.mean(np.abs(p - actual)))}
                for name, p in predictions.items()}
    last = scaled[None, n - window:] - scaled[-1]
    if samples:
        m, s = f.predict(last, samples=samples)
    else:
        m, s = f.predict(last), np.zeros((1, horizon))
    m, s = (m[0] + scaled[-1]) * std + mean, s[0] * std
    if not (np.isfinite(m).all() and np.isfinite(s).all()):  # never print or write NaN as a forecast
        raise ChoraleError(f"{series.source}: the {model} model's forecast is not finite (training diverged); "
                           "try another --model or --seed")
    table = pd.DataFrame({series.time_name: future_times(series, horizon), "forecast": m}
                         | ({"lower": m - 2 * s, "upper": m + 2 * s} if samples else {}))
    return {"model": model, "window": window, "horizon": horizon, "n": n,
            "split": [n_train, n_valid, n - n_train - n_valid], "epochs_run":
            len(f.history.get("loss", [])), "test_windows": len(S["test"]),
            "backtest": backtest, "forecast": table, "samples": samples,
            "parameters": f.parameters, "filled": series.filled}


def plot_forecast(series: Series, result: dict, path, title: str = "") -> None:
    """History (the last few windows), the test part shaded, the forecast and its band."""
    from matplotlib.figure import Figure

    from chorale.io.files import atomic_path

    n, h = result["n"], result["horizon"]
    x = (np.asarray(series.times) if series.times is not None and series.step is not None
         else np.arange(n))
    fx = np.asarray(result["forecast"].iloc[:, 0])
    shown = max(n - max(8 * h, 4 * result["window"]), 0)
    fig = Figure(figsize=(10, 4))  # not pyplot's: a notebook's backend is left alone
    ax = fig.subplots()
    ax.plot(x[shown:], series.values[shown:], color="0.25", lw=1, label="data")
    test_start = sum(result["split"][:2])
    ax.axvspan(x[max(test_start, shown)], x[-1], color="0.9", label="test part")
    fc = result["forecast"]
    ax.plot(fx, fc["forecast"], ".-", color="tab:red", label=f"{result['model']} forecast")
    if result["samples"]:
        ax.fill_between(fx, fc["lower"], fc["upper"], color="tab:red", alpha=0.2,
                        label="±2 std (MC dropout)")
    scores = ", ".join(f"{k} {v['mae']:.3g}" for k, v in result["backtest"].items())
    ax.set_title(f"{title}\nbacktest MAE: {scores}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90)


def _regular_frequency(times):
    """pandas' inferred frequency of a date index, or None; quiet about pandas 3 vs 4.

    pandas 3 warns that infer_freq will return an offset instead of a string; to_offset
    accepts both, so the caller does not care which it gets.
    """
    if not isinstance(times, pd.DatetimeIndex) or len(times) < 3:
        return None
    with warnings.catch_warnings():
        for category in (DeprecationWarning, FutureWarning):  # pandas has used both for this
            warnings.simplefilter("ignore", category)
        return pd.infer_freq(times)
