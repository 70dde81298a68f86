"""`chorale forecast`: the sequence models on time series (a thin face over chorale.forecast)."""

from __future__ import annotations

import sys

import click

from chorale import ChoraleError, forecast
from chorale.cli.app import Group
from chorale.cli.types import DROPOUT, POSITIVE, SEED


@click.group("forecast", cls=Group, short_help="Forecast time series with the sequence models.")
def forecast_group():
    """Forecast time series with the sequence models (Hands-On ML, ch. 15)."""


def _parse_models(text):
    names = [m.strip() for m in text.split(",") if m.strip()] if text else None
    for m in names or ():
        if m not in forecast.MODELS:
            raise ChoraleError(f"unknown model '{m}' (choose from {', '.join(forecast.MODELS)})")
    return names


@forecast_group.command("synthetic", short_help="The chapter's experiments on synthetic series.")
@click.option("--task", type=click.Choice(["next", "ahead"]), default="next", show_default=True,
              help="next: predict step 51; ahead: predict the next 10 steps.")
@click.option("--models", help="Comma-separated models (default: the chapter's list for the "
              f"task). Any of: {', '.join(forecast.MODELS)}.")
@click.option("--epochs", type=POSITIVE, default=20, show_default=True)
@click.option("--seed", type=SEED, default=42, show_default=True)
@click.option("--n-series", type=click.IntRange(10, 100_000), default=10_000, show_default=True,
              help="Series to generate, split 70/20/10.")
@click.option("--uncertainty", type=click.IntRange(0, 10_000), default=0, metavar="N",
              help="Monte Carlo dropout: N stochastic passes (mean and ±2 std).")
@click.option("--dropout", type=DROPOUT, default=None,
              help="Dropout rate (default 0.1 with --uncertainty, else 0).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the results as JSON.")
@click.option("--plot", type=click.Path(dir_okay=False), help="Draw test series and forecasts (PNG).")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
def forecast_synthetic(task, models, epochs, seed, n_series, uncertainty, dropout, json_path,
                       plot, force):
    """The chapter's experiments on synthetic series (two sines plus noise, 50 steps)."""
    names = _parse_models(models) or list(forecast.NEXT_MODELS if task == "next" else forecast.AHEAD_MODELS)
    forecast.check_outputs(force, json_path, plot)
    with click.progressbar(length=len(names), label="Training", file=sys.stderr,
                           item_show_func=lambda m: m) as bar:
        def progress(name):  # called before each model: the previous one (if any) is done
            bar.update(int(bar.current_item is not None), current_item=name)
        result = forecast.synthetic(task, names, epochs=epochs, seed=seed, n_series=n_series,
                                    uncertainty=uncertainty, dropout=dropout, progress=progress)
        bar.update(1)
    click.echo(forecast.synthetic_table(result))
    for line in forecast.save_synthetic(result, json_path=json_path, plot=plot, force=force):
        click.echo(line)


def _fixed(values, significant: int = 5):
    """A formatter giving every number of a table the same decimals: `significant` digits
    for the largest, so columns line up and compare at a glance."""
    import math

    finite = [abs(v) for v in values if math.isfinite(v) and v]
    decimals = max(0, significant - 1 - math.floor(math.log10(max(finite)))) if finite else significant - 1
    return lambda v: f"{v:.{decimals}f}"


@forecast_group.command("csv", short_help="Backtest and forecast a series from a CSV file.")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--column", required=True, help="The column to forecast.")
@click.option("--time-column", help="Dates or numbers, increasing, at a regular step.")
@click.option("--horizon", type=POSITIVE, default=10, show_default=True, help="Steps to forecast.")
@click.option("--window", type=POSITIVE, default=50, show_default=True, help="Input steps.")
@click.option("--model", type=click.Choice(forecast.MODELS), default="gru", show_default=True)
@click.option("--season", type=POSITIVE, help="Season length P for a seasonal-naive baseline.")
@click.option("--fill", type=click.Choice(["previous", "linear"]),
              help="Fill missing values and time steps (default: they are an error).")
@click.option("--epochs", type=POSITIVE, default=20, show_default=True)
@click.option("--seed", type=SEED, default=42, show_default=True)
@click.option("--uncertainty", type=click.IntRange(0, 10_000), default=100, show_default=True, metavar="N",
              help="Monte Carlo dropout passes for the forecast band (0: none).")
@click.option("--dropout", type=DROPOUT, default=0.1, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Write the forecast as CSV.")
@click.option("--plot", type=click.Path(dir_okay=False), help="Draw the series and the forecast (PNG).")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
def forecast_csv(file, column, time_column, horizon, window, model, season, fill, epochs, seed,
                 uncertainty, dropout, out, plot, force):
    """Backtest a model on a CSV series and forecast the next HORIZON steps."""
    forecast.check_outputs(force, out, plot)
    series, result = forecast.from_csv(file, column, time_column=time_column, horizon=horizon, window=window,
                                       model=model, season=season, fill=fill, epochs=epochs, seed=seed,
                                       uncertainty=uncertainty, dropout=dropout,
                                       verbose=2 if sys.stderr.isatty() else 0)
    a, b, c = result["split"]
    filled = f" ({series.filled} filled)" if series.filled else ""
    click.echo(f"Series '{column}': {len(series.values)} values{filled}; split: train {a}, "
               f"validation {b}, test {c}; window {window}, horizon {horizon}; {model} "
               f"({result['parameters']} parameters, {result['epochs_run']} epochs)")
    click.echo(f"Backtest on the test part ({result['test_windows']} windows):")
    click.echo(f"  {'model':<26}{'MSE':>12}{'MAE':>12}")
    scores = _fixed([v for s in result["backtest"].values() for v in s.values()])
    for name, s in result["backtest"].items():
        click.echo(f"  {name:<26}{scores(s['mse']):>12}{scores(s['mae']):>12}")
    band = f", band ±2 std over {uncertainty} MC dropout passes" if uncertainty else ""
    click.echo(f"Forecast of the next {horizon} steps{band}:")
    numbers = result["forecast"].select_dtypes("number")
    click.echo(result["forecast"].to_string(index=False, float_format=_fixed(numbers.to_numpy().ravel())))
    for line in forecast.save_forecast(series, result, out=out, plot=plot, title=f"{file}: {column}", force=force):
        click.echo(line)
