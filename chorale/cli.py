"""The `chorale` command line.

Heavy libraries (TensorFlow, music21, pandas) are imported inside the commands, so
`chorale --help` stays fast. Errors a user can cause are ChoraleError: they print one
line `Error: ...` and exit 1; usage errors exit 2 (Click's convention); Ctrl-C exits 130.
"""

from __future__ import annotations

import contextlib
import sys

import click

from chorale import ChoraleError, __version__
from chorale.io.render import render_options


def _interrupted():
    click.echo("\nInterrupted.", err=True)
    sys.exit(130)


class Group(click.Group):
    """A Click group that turns the project's errors into one-line messages."""

    def make_context(self, *args, **kwargs):
        try:  # Ctrl-C while Click parses the command line: 130 too, not Click's "Aborted!" and 1
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt:
            _interrupted()

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ChoraleError as e:
            click.echo(f"Error: {e}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            _interrupted()


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chorale")
def cli():
    """Learn from Bach's four-part chorales and write new ones as MIDI."""


# ---------------------------------------------------------------------------- data
@cli.group(cls=Group)
def data():
    """Build and inspect chorale datasets."""


@data.command("build")
@click.option("--out", type=click.Path(path_type=str), default=None,
              help="Dataset folder to write (default: the bundled data/chorales).")
@click.option("--force", is_flag=True, help="Replace an existing non-empty output folder.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Build only the first N corpus files (quick tries).")
@click.option("--jobs", type=click.IntRange(min=1), default=2, show_default=True,
              help="Parallel parsing processes.")
def data_build(out, force, limit, jobs):
    """Build the dataset from music21's bundled Bach chorales (offline, deterministic).

    Each Bach score with one Soprano, Alto, Tenor and Bass part (instrument parts are
    ignored) becomes a CSV of 16th-note rows: held notes repeat, rests are 0, grace notes
    are dropped, chords give the top note (bottom for the bass). A pickup starts at row 0,
    repeats are not expanded, and the final chord is held to complete the last bar.
    Chorales sharing a melody (same tune, even transposed) go to the same split, chosen
    by a hash (about 60/20/20). Files are numbered in BWV order; manifest.csv lists them.
    """
    from chorale.data import corpus
    from chorale.io.files import bundled

    out = out or bundled("chorales")
    label = "Parsing the Bach corpus"
    kept, skipped = corpus.build(
        out, force=force, limit=limit, jobs=jobs,
        progress=lambda items, length: click.progressbar(items, length=length, label=label, file=sys.stderr))
    for source, reason in skipped:
        click.echo(f"  skipped {source}: {reason}", err=True)
    click.echo(f"Wrote {out}: {len(kept)} chorales kept, {len(skipped)} skipped.")


@data.command("info")
@click.argument("path", required=False, type=click.Path(path_type=str))
def data_info(path):
    """Summarize a dataset: chorales per split, lengths, pitch range per voice.

    PATH is a dataset folder, a split folder, a CSV file or a .tgz/.zip archive
    (default: the bundled dataset).
    """
    from chorale.data.loader import info, load

    dataset = load(path)
    summary = info(dataset)
    manifest = _manifest_summary(dataset) if dataset.manifest else []  # may fail: before any output
    click.echo(f"Dataset: {summary['source']}")
    for split, s in summary["splits"].items():
        click.echo(f"  {split:<6} {s['chorales']:4d} chorales  {s['steps']:7d} steps  "
                   f"length {s['min_steps']}..{s['max_steps']}")
    for voice, rng in summary["pitch_range"].items():
        click.echo(f"  {voice:<8} pitches {rng[0]}..{rng[1]}" if rng else f"  {voice:<8} rests only")
    if "fermatas" in summary:
        f = summary["fermatas"]
        click.echo(f"  fermatas: {f['per_chorale']:.1f} per chorale ({f['known']} chorales with them known)")
    for line in manifest:
        click.echo(line)


def _manifest_summary(dataset) -> list[str]:
    import io

    import pandas as pd

    try:
        m = pd.read_csv(io.StringIO(dataset.manifest))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        reason = str(e).strip().splitlines()[0]
        raise ChoraleError(f"{dataset.source}: manifest.csv is not a readable CSV ({reason})") from None
    lines = []
    for column, label in (("time_signature", "meters"), ("key", "keys")):
        if column in m:
            counts = m[column].value_counts()
            shown = ", ".join(f"{k} {v}" for k, v in counts.head(8).items())
            more = f", ... ({len(counts)} in all)" if len(counts) > 8 else ""
            lines.append(f"  {label}: {shown}{more}")
    return lines


# ---------------------------------------------------------------------------- train / evaluate
def _parse_options(pairs):
    """KEY=VALUE pairs -> dict; values are Python literals (64, 0.1, True, (1,2,4,8)) or strings."""
    import ast

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ChoraleError(f"--option '{pair}': expected KEY=VALUE")
        try:
            options[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            options[key.strip()] = value.strip()
    return options


@cli.command("train")
@click.option("--arch", help="wavenet, conv-gru, gru, lstm or reference (default: wavenet).")
@click.option("--data", "data_path", help="Dataset folder or archive (default: the bundled dataset).")
@click.option("--epochs", type=click.IntRange(1),
              help="Maximum epochs; early stopping may end sooner (default: 12 for wavenet, 20 otherwise).")
@click.option("--batch-size", type=click.IntRange(1), help="Windows per step (default: 16 for wavenet, 32 otherwise).")
@click.option("--learning-rate", type=click.FloatRange(0, min_open=True),
              help="Nadam's peak rate (default: 5e-3 with a cosine decay for wavenet, 1e-3 otherwise).")
@click.option("--augment/--no-augment", default=None,
              help="Transpose training windows by up to 3 semitones within each voice's range; the last "
              "quarter of the epochs trains on the real keys.")
@click.option("--plan/--no-plan", default=None,
              help="Train with plan inputs (key, fermatas, steps to the end; each sometimes hidden) so "
              "sampling can be told them (default: on for wavenet, off otherwise).")
@click.option("--seed", type=int, help="Same seed, data and options: the same model (on CPU).")
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Backbone option, e.g. filters=96 or dilations=(1,2,4,8,1,2,4,8) (repeatable).")
@click.option("--out", type=click.Path(path_type=str), help="Run folder (default: a new one under outputs/models/).")
@click.option("--resume", is_flag=True, help="Continue the interrupted run in --out from its last checkpoint.")
@click.option("--force", is_flag=True, help="Replace an existing --out folder.")
@click.option("--distribute", type=click.Choice(["none", "mirrored"]), default="none",
              help="mirrored: all local devices (or all workers when TF_CONFIG is set).")
def train_cmd(arch, data_path, epochs, batch_size, learning_rate, augment, plan, seed, options, out, resume,
              force, distribute):
    """Train a chorale model; write model.keras, card.json, history.csv and training.png."""
    import time

    from chorale.model.train import train

    if resume and not out:
        raise ChoraleError("--resume needs --out, the run folder to continue")
    out = out or f"outputs/models/{arch or 'default'}-{time.strftime('%Y%m%d-%H%M%S')}"
    card = train(out, data=data_path, arch=arch, epochs=epochs, batch_size=batch_size,
                 learning_rate=learning_rate, augment=augment, plan=plan, seed=seed,
                 options=_parse_options(options) or None, resume=resume, force=force, distribute=distribute)
    m = card["metrics"]
    click.echo(f"Saved {out}/model.keras ({card['architecture']}, {card['parameters']:,} parameters): "
               f"best epoch {m['best_epoch']}, val loss {m['val_loss']:.4f}, val accuracy "
               f"{m['val_accuracy']:.4f}, {card['wall_time_s']:.0f} s, seed {card['hyperparameters']['seed']}")


@cli.command("evaluate")
@click.option("--model", "model_dir", type=click.Path(path_type=str), help="A trained model folder (not with --music).")
@click.option("--data", "data_path", help="Dataset folder, archive or CSV (default: the bundled dataset).")
@click.option("--split", default="test", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--music", is_flag=True, help="Score the musicality of FILES (chorale files, or folders of "
              "them: one column each) next to the real chorales of --split.")
@click.option("--per-chorale", is_flag=True, help="With --music: also one line per chorale.")
@click.argument("files", nargs=-1, type=click.Path(exists=True))
def evaluate_cmd(model_dir, data_path, split, as_json, music, per_chorale, files):
    """Next-token NLL (nats/token) and accuracy: windowed (the reference protocol) and whole-chorale.

    With --music FILES...: voice leading (parallel and hidden fifths and octaves, crossings,
    spacing, range) and style statistics (pitch-class and interval histograms, key
    consistency, repetition), side by side with real Bach. See docs/music.md.
    """
    import json

    if music:
        return _evaluate_music(files, data_path, split, as_json, per_chorale)
    if files:
        raise click.UsageError("FILES are scored with --music")
    if not model_dir:
        raise click.UsageError("give --model DIR (or --music FILES...)")
    from chorale.model.evaluate import evaluate

    r = evaluate(model_dir, data_path, split)
    if as_json:
        click.echo(json.dumps(r, indent=2))
        return
    click.echo(f"{r['model']} ({r['architecture']}) on {r['data']} [{r['split']}], {r['chorales']} chorales")
    click.echo(f"  {'protocol':<13} {'NLL':>7} {'acc':>7} {'tokens':>8}   NLL soprano/alto/tenor/bass")
    rows = [(name, r[name]) for name in ("windowed", "whole")]
    rows += [(f"{name}+plan", s) for name, s in r.get("planned", {}).items()]  # told each chorale's plan
    for name, s in rows:
        if s is None:
            click.echo(f"  {name:<13} (no chorale is long enough for a 33-chord window)")
            continue
        voices = " ".join(f"{v:.4f}" for v in s["per_voice"].values())
        click.echo(f"  {name:<13} {s['nll']:7.4f} {s['accuracy']:7.4f} {s['tokens']:8d}   {voices}")


def _evaluate_music(files, data_path, split, as_json, per_chorale):
    import json

    from chorale.music import chorale_table, evaluate_files, table

    if not files:
        raise click.UsageError("--music needs FILES: chorale files (.mid, .csv, MusicXML) or folders of them")
    r = evaluate_files(files, data_path, split)
    if as_json:
        click.echo(json.dumps(r, indent=2))
        return
    if per_chorale:
        for title, scored in list(r["columns"].items())[1:]:
            click.echo(f"{title}:\n{chorale_table(scored)}\n")
    counts = {title: len(scored["chorales"]) for title, scored in r["columns"].items()}
    click.echo(table({f"{title} ({n})": r["columns"][title]["aggregate"] for title, n in counts.items()}))


# ---------------------------------------------------------------------------- generate
@contextlib.contextmanager
def _progress(length: int, label: str):
    """A progress bar on stderr that appears with the first step of work, so that an error
    found before the work starts (a bad primer) is the only thing printed."""
    with contextlib.ExitStack() as stack:
        bar = []

        def update(steps):
            if not bar:
                bar.append(stack.enter_context(click.progressbar(length=length, label=label, file=sys.stderr)))
            bar[0].update(steps)
        yield update


def _default_folder(ctx, param, value):
    """The default output lives in ./outputs/, made on first use (as `train` makes outputs/models/)."""
    if ctx.get_parameter_source(param.name) is click.core.ParameterSource.DEFAULT:
        from pathlib import Path

        Path(value).parent.mkdir(exist_ok=True)
    return value


voice_leading_option = click.option(
    "--voice-leading/--no-voice-leading", default=True, show_default=True,
    help="Never write parallel fifths or octaves, nor hidden ones between soprano and bass: a note "
    "that would complete one is drawn again from the model's other notes.")


def _numbered(path, i: int, count: int):
    """song.mid -> song-01.mid when writing several files."""
    from pathlib import Path

    if path is None or count == 1:
        return path
    path = Path(path)
    return path.with_name(f"{path.stem}-{i + 1:0{max(2, len(str(count)))}d}{path.suffix}")


@cli.command()
@click.option("--model", "model_dir", type=click.Path(path_type=str),
              help="A trained model folder (default: the bundled model).")
@click.option("--seed", type=int, help="Random seed; the same seed gives the same file (default: random).")
@click.option("--count", type=click.IntRange(1), default=1, show_default=True,
              help="Chorales to write in one batched pass (song-01.mid, song-02.mid, ... with seeds seed, seed+1, ...).")
@click.option("--primer", help="Opening to continue: test:3 (a held-out chorale's first two bars), a .csv, "
              "MIDI or MusicXML file, or none (default: a held-out chorale chosen by the seed).")
@click.option("--bars", type=click.IntRange(1), default=16, show_default=True, help="Length in 4/4 bars.")
@click.option("--length", type=click.IntRange(1), help="Length in 16th-note steps (overrides --bars).")
@click.option("--temperature", type=float, default=1.0, show_default=True,
              help="Below 1: safer, more repetitive; above 1: more adventurous.")
@click.option("--top-k", type=int, help="Sample only from the k most likely notes.")
@click.option("--top-p", type=float, help="Sample only from the most likely notes that make up this probability.")
@click.option("--greedy", is_flag=True, help="Always take the most likely note (deterministic).")
@click.option("--range-guard/--no-range-guard", default=True, show_default=True,
              help="Keep each voice inside the range it sings in the training data.")
@voice_leading_option
@click.option("--data", "data_path", help="Dataset for test:N primers (default: the bundled dataset).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=str), default="outputs/chorale.mid",
              show_default=True, callback=_default_folder,
              help="Output file: .mid, or .csv for the 16th-note grid.")
@render_options
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
def generate(model_dir, seed, count, primer, bars, length, temperature, top_k, top_p, greedy, range_guard,
             voice_leading, data_path, out, wav, png, musicxml, sheet, tempo, program, title, force):
    """Write a new chorale, one note at a time, as a MIDI file.

    Example: chorale generate --seed 3 --out song.mid --wav song.wav --png song.png
    """
    import random
    import time
    from pathlib import Path

    from chorale.io.files import bundled
    from chorale.io.render import check_outputs, render_all
    from chorale.encoding import STEPS_PER_BAR
    from chorale.model.run import load_sampler
    from chorale.sampling.sample import Controls, generate as sample_chorales, primer_grid

    kind = Path(out).suffix.lower()
    if kind not in (".mid", ".midi", ".csv"):
        raise click.BadParameter(f"'{out}': expected a .mid or .csv file", param_hint="--out")
    seed = random.randrange(2**31) if seed is None else seed
    steps = length or bars * STEPS_PER_BAR
    model, card, vocab = load_sampler(model_dir or bundled("model"))
    controls = Controls(temperature, top_k, top_p, greedy,
                        voice_ranges=card["voice_ranges"] if range_guard else None, voice_leading=voice_leading)
    seeds = [seed + i for i in range(count)]
    primers = [primer_grid(primer, s, data_path) for s in seeds]
    outputs = [dict(midi=None, csv=None, wav=_numbered(wav, i, count), png=_numbered(png, i, count),
                    musicxml=_numbered(musicxml, i, count), sheet=_numbered(sheet, i, count))
               for i in range(count)]
    for i, o in enumerate(outputs):
        o["csv" if kind == ".csv" else "midi"] = _numbered(out, i, count)
    for o in outputs:  # refuse before sampling: no time spent, no file written
        check_outputs(o, force)
    start = time.perf_counter()
    tokens = count * steps * 4
    with _progress(tokens, "Sampling") as update:
        grids, loglik = sample_chorales(model, vocab, primers, steps, seeds, controls, progress=update)
    seconds = time.perf_counter() - start
    for i, (grid, o) in enumerate(zip(grids, outputs)):
        name = title or f"Chorale (seed {seeds[i]})"
        for line in render_all(grid, **o, title=name, tempo=tempo, program=program, force=force):
            click.echo(line)
        click.echo(f"  {steps} chords in {seconds / count:.2f} s, seed {seeds[i]}, "
                   f"mean log-likelihood {loglik[i]:.3f} nats per sampled note")


# ---------------------------------------------------------------------------- render
@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--midi", type=click.Path(dir_okay=False), help="Write a Standard MIDI File (.mid).")
@click.option("--csv", type=click.Path(dir_okay=False), help="Write the grid as a JSB-style CSV.")
@render_options
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
def render(file, midi, csv, wav, png, musicxml, sheet, tempo, program, title, force):
    """Render a chorale to audio, a piano roll, MusicXML or sheet music.

    FILE is a .mid/.midi, .csv (JSB layout) or MusicXML (.musicxml, .xml, .mxl) file.

    Example: chorale render chorale.csv --wav chorale.wav --png roll.png --sheet score.pdf
    """
    from pathlib import Path

    from chorale.io.midi import read_grid
    from chorale.io.render import render_all

    outputs = dict(midi=midi, csv=csv, wav=wav, png=png, musicxml=musicxml, sheet=sheet)
    if not any(outputs.values()):
        raise click.UsageError("nothing to write: give at least one of --wav, --png, --musicxml, --sheet, --midi, --csv")
    grid = read_grid(file)
    for line in render_all(grid, **outputs, title=title or Path(file).stem, tempo=tempo, program=program, force=force):
        click.echo(line)


# ------------------------------------------------------------------------ forecast
FORECAST_MODELS = ("naive", "linear", "rnn", "deep-rnn", "deep-rnn-dense", "iterative",
                   "seq2vec", "seq2seq", "ln-rnn", "lstm", "gru", "conv-gru", "wavenet")


@cli.group(cls=Group)
def forecast():
    """Forecast time series with the sequence models (Hands-On ML, ch. 15)."""


def _check_outputs(force: bool, *paths) -> None:
    """Refuse outputs that exist (unless --force) or cannot be written, before any slow work starts."""
    from chorale.io.files import check_output

    for p in filter(None, paths):
        check_output(p, force)


def _parse_models(text):
    names = [m.strip() for m in text.split(",") if m.strip()] if text else None
    for m in names or ():
        if m not in FORECAST_MODELS:
            raise ChoraleError(f"unknown model '{m}' (choose from {', '.join(FORECAST_MODELS)})")
    return names


@forecast.command("synthetic")
@click.option("--task", type=click.Choice(["next", "ahead"]), default="next", show_default=True,
              help="next: predict step 51; ahead: predict the next 10 steps.")
@click.option("--models", help="Comma-separated models (default: the chapter's list for the "
              f"task). Any of: {', '.join(FORECAST_MODELS)}.")
@click.option("--epochs", type=click.IntRange(1), default=20, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--n-series", type=click.IntRange(10), default=10_000, show_default=True,
              help="Series to generate, split 70/20/10.")
@click.option("--uncertainty", type=click.IntRange(0), default=0, metavar="N",
              help="Monte Carlo dropout: N stochastic passes (mean and ±2 std).")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Dropout rate (default 0.1 with --uncertainty, else 0).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the results as JSON.")
@click.option("--plot", type=click.Path(dir_okay=False), help="Draw test series and forecasts (PNG).")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
def forecast_synthetic(task, models, epochs, seed, n_series, uncertainty, dropout, json_path,
                       plot, force):
    """The chapter's experiments on synthetic series (two sines plus noise, 50 steps)."""
    names = _parse_models(models)
    _check_outputs(force, json_path, plot)
    import json

    from chorale.io.files import atomic_write
    from chorale.forecast.models import AHEAD_MODELS, NEXT_MODELS, format_table, plot_synthetic, run_synthetic

    names = names or list(NEXT_MODELS if task == "next" else AHEAD_MODELS)
    dropout = (0.1 if uncertainty else 0.0) if dropout is None else dropout
    with click.progressbar(length=len(names), label="Training", file=sys.stderr,
                           item_show_func=lambda m: m) as bar:
        def progress(name):  # called before each model: the previous one (if any) is done
            bar.update(int(bar.current_item is not None), current_item=name)
        result = run_synthetic(task, names, epochs, seed, n_series, uncertainty, dropout,
                               progress=progress)
        bar.update(1)
    click.echo(format_table(result))
    if json_path:
        with atomic_write(json_path) as f:
            json.dump(result, f, indent=1)
        click.echo(f"Wrote {json_path}")
    if plot:
        plot_synthetic(result, plot)
        click.echo(f"Wrote {plot}")


@forecast.command("csv")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--column", required=True, help="The column to forecast.")
@click.option("--time-column", help="Dates or numbers, increasing, at a regular step.")
@click.option("--horizon", type=click.IntRange(1), default=10, show_default=True, help="Steps to forecast.")
@click.option("--window", type=click.IntRange(1), default=50, show_default=True, help="Input steps.")
@click.option("--model", type=click.Choice(FORECAST_MODELS), default="gru", show_default=True)
@click.option("--season", type=click.IntRange(1), help="Season length P for a seasonal-naive baseline.")
@click.option("--fill", type=click.Choice(["previous", "linear"]),
              help="Fill missing values and time steps (default: they are an error).")
@click.option("--epochs", type=click.IntRange(1), default=20, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--uncertainty", type=click.IntRange(0), default=100, show_default=True, metavar="N",
              help="Monte Carlo dropout passes for the forecast band (0: none).")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=0.1, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Write the forecast as CSV.")
@click.option("--plot", type=click.Path(dir_okay=False), help="Draw the series and the forecast (PNG).")
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
def forecast_csv(file, column, time_column, horizon, window, model, season, fill, epochs, seed,
                 uncertainty, dropout, out, plot, force):
    """Backtest a model on a CSV series and forecast the next HORIZON steps."""
    _check_outputs(force, out, plot)
    from chorale.io.files import atomic_write
    from chorale.forecast.series import forecast_series, load_series, plot_forecast

    series = load_series(file, column, time_column, fill)
    result = forecast_series(series, model, window, horizon, season, epochs, seed, uncertainty,
                             dropout, verbose=2 if sys.stderr.isatty() else 0)
    a, b, c = result["split"]
    filled = f" ({series.filled} filled)" if series.filled else ""
    click.echo(f"Series '{column}': {len(series.values)} values{filled}; split: train {a}, "
               f"validation {b}, test {c}; window {window}, horizon {horizon}; {model} "
               f"({result['parameters']} parameters, {result['epochs_run']} epochs)")
    click.echo(f"Backtest on the test part ({result['test_windows']} windows):")
    click.echo(f"  {'model':<26}{'MSE':>12}{'MAE':>12}")
    for name, s in result["backtest"].items():
        click.echo(f"  {name:<26}{s['mse']:>12.5g}{s['mae']:>12.5g}")
    band = f", band ±2 std over {uncertainty} MC dropout passes" if uncertainty else ""
    click.echo(f"Forecast of the next {horizon} steps{band}:")
    click.echo(result["forecast"].to_string(index=False, float_format=lambda v: f"{v:.5g}"))
    if out:
        with atomic_write(out, newline="") as f:
            result["forecast"].to_csv(f, index=False)
        click.echo(f"Wrote {out}")
    if plot:
        plot_forecast(series, result, plot, title=f"{file}: {column}")
        click.echo(f"Wrote {plot}")


# ---------------------------------------------------------------------------- harmonize
@cli.command("harmonize")
@click.argument("melody", type=click.Path(exists=True, dir_okay=False))
@click.option("--voice", type=click.Choice(["soprano", "alto", "tenor", "bass"]), default="soprano",
              show_default=True, help="The voice that sings the melody; the model writes the other three.")
@click.option("--part", help="Part or track holding the melody: a 0-based number or a name "
              "(default: the one named Soprano, else the first).")
@click.option("--candidates", type=click.IntRange(1), default=8, show_default=True,
              help="Harmonizations to sample; keep the one with the fewest voice-leading errors "
              "(then the highest log-likelihood).")
@click.option("--model", "model_dir", type=click.Path(path_type=str),
              help="A trained model folder (default: the bundled model).")
@click.option("--seed", type=int, help="Random seed; the same seed gives the same file (default: random).")
@click.option("--temperature", type=float, default=1.0, show_default=True,
              help="Below 1: safer, more repetitive; above 1: more adventurous.")
@voice_leading_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=str), default="outputs/harmonized.mid",
              show_default=True, callback=_default_folder,
              help="Output file: .mid, or .csv for the 16th-note grid.")
@render_options
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
def harmonize_cmd(melody, voice, part, candidates, model_dir, seed, temperature, voice_leading, out, wav, png,
                  musicxml, sheet, tempo, program, title, force):
    """Write alto, tenor and bass under a melody (or the other voices around --voice).

    MELODY is a MIDI, MusicXML or JSB-style CSV file with one melodic line (or pick one
    with --part); it is quantized to 16th notes and moved by octaves (else by the
    smallest shift) into the model's range for the voice.

    Example: chorale harmonize tune.mid --candidates 8 --seed 1 --out tune-satb.mid --wav tune.wav
    """
    import random
    from pathlib import Path

    from chorale.encoding import VOICES, note_name
    from chorale.io.files import bundled
    from chorale.sampling.harmonize import fit_range, harmonize, read_line
    from chorale.io.render import check_outputs, render_all
    from chorale.model.run import load_sampler

    kind = Path(out).suffix.lower()
    if kind not in (".mid", ".midi", ".csv"):
        raise click.BadParameter(f"'{out}': expected a .mid or .csv file", param_hint="--out")
    outputs = dict(midi=None if kind == ".csv" else out, csv=out if kind == ".csv" else None,
                   wav=wav, png=png, musicxml=musicxml, sheet=sheet)
    check_outputs(outputs, force)  # refuse before sampling: no time spent, no file written
    seed = random.randrange(2**31) if seed is None else seed
    line = read_line(melody, part)
    model, card, vocab = load_sampler(model_dir or bundled("model"))
    low, high = card["voice_ranges"][VOICES.index(voice)]
    line, shift = fit_range(line, low, high, voice)
    if shift:
        click.echo(f"Transposed the melody {'up' if shift > 0 else 'down'} {abs(shift)} semitones to fit "
                   f"the model's {voice} range {note_name(low)}..{note_name(high)}.")
    with _progress(len(line) * 4, f"Harmonizing ({candidates} candidates)") as update:
        result = harmonize(model, vocab, line, voice, card["voice_ranges"], candidates, seed, temperature,
                           voice_leading, progress=update)
    for written in render_all(result.grid, **outputs, title=title or f"{Path(melody).stem} (harmonized)",
                              tempo=tempo, program=program, force=force):
        click.echo(written)
    click.echo(f"  {len(line)} steps, candidate {result.chosen + 1} of {candidates} (seed {seed + result.chosen}): "
               f"{result.errors[result.chosen]} voice-leading errors, mean log-likelihood "
               f"{result.logliks[result.chosen]:.3f} nats per sampled note")


def main():
    cli(prog_name="chorale")


if __name__ == "__main__":
    sys.exit(main())
