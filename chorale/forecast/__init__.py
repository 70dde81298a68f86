"""The forecaster's API: the chorale backbones applied to time series (Hands-On ML, ch. 15).

`chorale forecast` is a thin face over these functions. Light to import (the model names
are listed without Keras; everything else is imported when called).
"""

from __future__ import annotations

from chorale.forecast.names import AHEAD_MODELS, MODELS, NEXT_MODELS  # noqa: F401  (the CLI lists them)


def check_outputs(force: bool, *paths) -> None:
    """Refuse outputs that exist (unless `force`) or cannot be written, before any slow work starts."""
    from chorale.io.files import check_output

    for p in filter(None, paths):
        check_output(p, force)


def synthetic(task: str = "next", models=None, *, epochs: int = 20, seed: int = 42, n_series: int = 10_000,
              uncertainty: int = 0, dropout: float | None = None, progress=None) -> dict:
    """The chapter's experiments on synthetic series (two sines plus noise, 50 steps): each of
    `models` (default: the chapter's list for `task`, "next" or "ahead") trained and scored.
    `progress(name)` is called before each model."""
    from chorale.forecast.models import run_synthetic

    names = list(models or (NEXT_MODELS if task == "next" else AHEAD_MODELS))
    dropout = (0.1 if uncertainty else 0.0) if dropout is None else dropout
    return run_synthetic(task, names, epochs, seed, n_series, uncertainty, dropout, progress=progress)


def synthetic_table(result: dict) -> str:
    from chorale.forecast.models import format_table

    return format_table(result)


def save_synthetic(result: dict, *, json_path=None, plot=None, force: bool = False) -> list[str]:
    """Write a `synthetic` result as JSON and/or a plot (PNG); the lines saying what was written."""
    import json

    from chorale.forecast.models import plot_synthetic
    from chorale.io.files import atomic_write, final_outputs

    done = []
    with final_outputs(force):  # never replace a file another command wrote meanwhile
        if json_path:
            with atomic_write(json_path) as f:
                json.dump(result, f, indent=1)
            done.append(f"Wrote {json_path}")
        if plot:
            plot_synthetic(result, plot)
            done.append(f"Wrote {plot}")
    return done


def from_csv(file, column: str, *, time_column=None, horizon: int = 10, window: int = 50, model: str = "gru",
             season=None, fill=None, epochs: int = 20, seed: int = 42, uncertainty: int = 100,
             dropout: float = 0.1, verbose=0):
    """(series, result): a model backtested on a CSV series and its forecast of the next `horizon` steps."""
    from chorale.forecast.series import forecast_series, load_series

    series = load_series(file, column, time_column, fill)
    return series, forecast_series(series, model, window, horizon, season, epochs, seed, uncertainty, dropout,
                                   verbose=verbose)


def save_forecast(series, result: dict, *, out=None, plot=None, title: str = "", force: bool = False) -> list[str]:
    """Write a `from_csv` forecast as CSV and/or a plot (PNG); the lines saying what was written."""
    from chorale.forecast.series import plot_forecast
    from chorale.io.files import atomic_write, final_outputs

    done = []
    with final_outputs(force):  # never replace a file another command wrote meanwhile
        if out:
            with atomic_write(out, newline="") as f:
                result["forecast"].to_csv(f, index=False)
            done.append(f"Wrote {out}")
        if plot:
            plot_forecast(series, result, plot, title=title)
            done.append(f"Wrote {plot}")
    return done
