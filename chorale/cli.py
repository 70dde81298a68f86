"""The `chorale` command line: a thin face over the Python API (`chorale.api`).

Each command parses its options, calls the API, and prints. Heavy libraries (TensorFlow,
music21, pandas, NumPy) are imported inside the commands, so `chorale --help` stays fast.
Errors a user can cause are ChoraleError: they print one line `Error: ...` and exit 1;
usage errors exit 2 (Click's convention, and every option value is checked by the shared
types of chorale.cli_types); Ctrl-C exits 130, SIGTERM 143.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys

import click

from chorale import ChoraleError, __version__, defaults
from chorale.cli_types import (BARS, COUNT, DROPOUT, LEARNING_RATE, PLAN_WEIGHT, POSITIVE, PROBABILITY, SEED, STEPS,
                               TEMPERATURE, TEMPO, Existing, Primer, Voices, default_output)
from chorale.forecast import MODELS as FORECAST_MODELS


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt, so that the same
    cleanup runs (temporary files removed, checkpoints kept) and the command exits 143."""


def _terminate(main_pid: int, signum, frame):
    if os.getpid() != main_pid:  # a worker forked with this handler: die as the default would
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
    raise Terminated()


def _interrupted(e: KeyboardInterrupt):
    terminated = isinstance(e, Terminated)
    click.echo("\nTerminated." if terminated else "\nInterrupted.", err=True)
    sys.exit(143 if terminated else 130)


def _one_line(text: str) -> str:
    """`text` with line breaks and control characters escaped: a message quoting a file's
    bytes can neither break the one-line rule nor send escape codes to the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


LAST_RESORT = "a bug in chorale; the full report is in"  # tests assert no catalogue case prints it


def _report(what: str, error: Exception) -> str:
    """Write the traceback of an unexpected error to a file in the temporary folder; its path."""
    import platform
    import tempfile
    import time
    import traceback

    fd, path = tempfile.mkstemp(prefix=f"chorale-report-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=".txt")
    with open(fd, "w", encoding="utf-8", errors="backslashreplace") as f:
        f.write(f"chorale {__version__}, Python {platform.python_version()}, {platform.platform()}\n"
                f"command: {what}\nargv: {sys.argv!r}\n\n")
        traceback.print_exception(error, file=f)
    return path


class Group(click.Group):
    """A Click group that turns the project's errors into one-line messages.

    ChoraleError and OSError (a disk full, a permission refused) print `Error: ...` and
    exit 1; Ctrl-C exits 130 and SIGTERM 143, after the same cleanup. Anything else is a
    bug: the last resort prints one line saying what failed and where the full report
    was written, and exits 1.
    """

    def main(self, *args, **kwargs):
        import threading

        handle = (threading.current_thread() is threading.main_thread()
                  and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)
        if handle:
            signal.signal(signal.SIGTERM, functools.partial(_terminate, os.getpid()))
        try:
            return super().main(*args, **kwargs)
        finally:
            if handle:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def make_context(self, *args, **kwargs):
        try:  # Ctrl-C while Click parses the command line: 130 too, not Click's "Aborted!" and 1
            return super().make_context(*args, **kwargs)
        except KeyboardInterrupt as e:
            _interrupted(e)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ChoraleError as e:
            click.echo(f"Error: {_one_line(str(e))}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt as e:
            _interrupted(e)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except OSError as e:
            if e.filename is None:
                raise self._last_resort(ctx, e)
            from chorale.io.files import os_error

            click.echo(f"Error: {_one_line(str(os_error(e.filename, e)))}", err=True)
            ctx.exit(1)
        except Exception as e:
            raise self._last_resort(ctx, e)

    @staticmethod
    def _last_resort(ctx, error: Exception):
        what = f"{ctx.command_path} {ctx.invoked_subcommand or ''}".strip()
        detail = _one_line(str(error))[:200]
        click.echo(f"Error: {what} failed unexpectedly ({type(error).__name__}"
                   f"{': ' + detail if detail else ''}); {LAST_RESORT} {_report(what, error)}", err=True)
        return click.exceptions.Exit(1)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chorale")
def cli():
    """Learn from Bach's four-part chorales and write new ones as MIDI."""


# ---------------------------------------------------------------------------- data
@cli.group(cls=Group)
def data():
    """Build and inspect chorale datasets."""


@data.command("build", short_help="Build the dataset from music21's Bach chorales.")
@click.option("--out", type=click.Path(path_type=str), default=None,
              help="Dataset folder to write (default: the bundled data/chorales).")
@click.option("--force", is_flag=True, help="Replace an existing non-empty output folder.")
@click.option("--limit", type=POSITIVE, default=None,
              help="Build only the first N corpus files (quick tries).")
@click.option("--jobs", type=click.IntRange(1, 64), default=2, show_default=True,
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


@data.command("info", short_help="Summarize a dataset.")
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


@cli.command("train", short_help="Train a chorale model.")
@click.option("--arch", help="wavenet, conv-gru, gru, lstm or reference (default: wavenet).")
@click.option("--data", "data_path", help="Dataset folder or archive (default: the bundled dataset).")
@click.option("--epochs", type=POSITIVE,
              help="Maximum epochs; early stopping may end sooner (default: 16 for wavenet, 20 otherwise).")
@click.option("--batch-size", type=POSITIVE, help="Windows per step (default: 16 for wavenet, 32 otherwise).")
@click.option("--learning-rate", type=LEARNING_RATE,
              help="Nadam's peak rate (default: 5e-3 with a cosine decay for wavenet, 1e-3 otherwise).")
@click.option("--augment/--no-augment", default=None,
              help="Transpose training windows by up to 3 semitones within each voice's range; the last "
              "quarter of the epochs trains on the real keys.")
@click.option("--plan/--no-plan", default=None,
              help="Train with plan inputs (key, fermatas, steps to the end; each sometimes hidden) so "
              "sampling can be told them (default: on for wavenet, off otherwise).")
@click.option("--look-ahead/--no-look-ahead", default=None,
              help="Train an encoder that reads the known notes both ways (a melody, the music around a "
              "region) for harmonize and regenerate; random masks, loss on the unknown notes (default: on "
              "for wavenet, off otherwise).")
@click.option("--seed", type=SEED, help="Same seed, data and options: the same model (on CPU).")
@click.option("-o", "--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Backbone option, e.g. filters=96 or dilations=(1,2,4,8,1,2,4,8) (repeatable).")
@click.option("--out", type=click.Path(path_type=str),
              help="Run folder (default: a new one under outputs/models/).")
@click.option("--resume", is_flag=True, help="Continue the interrupted run in --out from its last checkpoint.")
@click.option("--force", is_flag=True, help="Replace an existing --out folder.")
@click.option("--distribute", type=click.Choice(["none", "mirrored"]), default="none",
              help="mirrored: all local devices (or all workers when TF_CONFIG is set).")
def train_cmd(arch, data_path, epochs, batch_size, learning_rate, augment, plan, look_ahead, seed, options, out,
              resume, force, distribute):
    """Train a chorale model; write model.keras, card.json, history.csv and training.png."""
    from chorale.api import train

    if resume and not out:
        raise ChoraleError("--resume needs --out, the run folder to continue")
    model = train(out, data=data_path, arch=arch, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                  augment=augment, plan=plan, look_ahead=look_ahead, seed=seed,
                  options=_parse_options(options) or None, resume=resume, force=force, distribute=distribute)
    if model is None:
        click.echo("This worker is done; the chief worker writes the run folder.")
        return
    card, m = model.card, model.card["metrics"]
    click.echo(f"Saved {model.path}/model.keras ({card['architecture']}, {card['parameters']:,} parameters, "
               f"seed {card['hyperparameters']['seed']}): best epoch {m['best_epoch']}, val loss "
               f"{m['val_loss']:.4f}, val accuracy {m['val_accuracy']:.4f}, {card['wall_time_s']:.0f} s")


@cli.command("evaluate", short_help="Score a model (NLL, accuracy) or files (musicality).")
@click.option("--model", "model_dir", type=click.Path(path_type=str),
              help="A trained model folder (default: the bundled model; not with --music).")
@click.option("--data", "data_path", help="Dataset folder, archive or CSV (default: the bundled dataset).")
@click.option("--split", default=defaults.SPLIT, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--music", is_flag=True, help="Score the musicality of FILES (chorale files, or folders of "
              "them: one column each) next to the real chorales of --split.")
@click.option("--per-chorale", is_flag=True, help="With --music: also one line per chorale.")
@click.argument("files", nargs=-1, type=Existing(folder_ok=True))
def evaluate_cmd(model_dir, data_path, split, as_json, music, per_chorale, files):
    """Next-token NLL (nats/token) and accuracy: windowed (the reference protocol) and whole-chorale;
    for a model with look-ahead also harmonize (alto, tenor, bass given the soprano) and
    infill (2-bar regions given the rest), each beside the same notes read left to right.

    With --music FILES...: voice leading (parallel and hidden fifths and octaves, crossings,
    spacing, range) and style statistics (pitch-class and interval histograms, key
    consistency, repetition), side by side with real Bach. See docs/music.md.
    """
    import json

    if music:
        return _evaluate_music(files, data_path, split, as_json, per_chorale)
    if files:
        raise click.UsageError("FILES are scored with --music")
    from chorale.api import evaluate
    from chorale.encoding import VOICES
    from chorale.model.run import read_card

    if model_dir is not None:
        read_card(model_dir)  # a wrong folder is said at once, before TensorFlow loads
    r = evaluate(model_dir, data=data_path, split=split)
    if as_json:
        click.echo(json.dumps(r, indent=2))
        return
    click.echo(f"{r['model']} ({r['architecture']}) on {r['data']} [{r['split']}], {r['chorales']} chorales")
    click.echo(f"  {'protocol':<16} {'NLL':>7} {'acc':>7} {'tokens':>8}   NLL soprano/alto/tenor/bass")
    rows = [(name, r[name]) for name in ("windowed", "whole")]
    rows += [(f"{name}+plan", s) for name, s in r.get("planned", {}).items()]  # told each chorale's plan
    for protocol in ("harmonize", "infill"):  # look-ahead, and the same tokens read left to right
        if r.get(protocol):
            rows += [(protocol, r[protocol]["look_ahead"]), (f"{protocol} L-to-R", r[protocol]["left_to_right"])]
    for name, s in rows:
        if s is None:
            click.echo(f"  {name:<16} (no chorale is long enough for a 33-chord window)")
            continue
        voices = " ".join(f"{s['per_voice'][v]:.4f}" if v in s["per_voice"] else "     -" for v in VOICES)
        click.echo(f"  {name:<16} {s['nll']:7.4f} {s['accuracy']:7.4f} {s['tokens']:8d}   {voices}")


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
def _progress(label: str):
    """A progress bar on stderr for the API's progress(done, total) callback. It appears with
    the first step of work, so that an error found before the work starts (a bad primer)
    is the only thing printed, and it ends at 100%."""
    with contextlib.ExitStack() as stack:
        bar = []

        def update(done, total):
            if not bar:
                bar.append(stack.enter_context(click.progressbar(length=total, label=label, file=sys.stderr)))
            bar[0].update(done)
        yield update


def _program_option(ctx, param, value):
    from chorale.io.midi import program_number

    return program_number(value)


def output_options(*, files: bool):
    """The options every writing command shares, one per output format (`chorale.io.render.FORMATS`:
    --wav, --png, --musicxml, --sheet, and with `files` also --midi and --csv), then --tempo,
    --instrument (passed on as `program`) and --title."""
    from pathlib import Path

    from chorale.io.render import FORMATS

    def decorate(command):
        output = click.Path(dir_okay=False, path_type=Path)
        options = [click.option(f"--{f.name}", type=output, help=f.help)
                   for f in FORMATS if files or f.name not in ("midi", "csv")]
        options += [
            click.option("--tempo", type=TEMPO, default=defaults.TEMPO, show_default=True,
                         help="Quarter notes per minute."),
            click.option("--instrument", "program", default=defaults.INSTRUMENT, show_default=True,
                         callback=_program_option,
                         help="General MIDI instrument: a name such as 'choir aahs' or 'string ensemble 1', or 1-128."),
            click.option("--title", help="Title for the MIDI file, picture and score."),
        ]
        for option in reversed(options):
            command = option(command)
        return command
    return decorate


model_option = click.option("--model", "model_dir", type=click.Path(path_type=str),
                            help="A trained model folder (default: the bundled model).")
seed_option = click.option("--seed", type=SEED,
                           help="Random seed; the same seed gives the same file (default: random).")
temperature_option = click.option("--temperature", type=TEMPERATURE, default=defaults.TEMPERATURE, show_default=True,
                                  help="Below 1: safer, more repetitive; above 1: more adventurous.")
voice_leading_option = click.option(
    "--voice-leading/--no-voice-leading", default=True, show_default=True,
    help="Never write parallel fifths or octaves, hidden ones between soprano and bass, or crossed "
    "voices: a note that would make one is drawn again from the model's other notes.")


def _numbered(path, i: int, count: int):
    """song.mid -> song-01.mid when writing several files."""
    from pathlib import Path

    if path is None or count == 1:
        return path
    path = Path(path)
    return path.with_name(f"{path.stem}-{i + 1:0{max(2, len(str(count)))}d}{path.suffix}")


def _outputs(out, outputs: dict, i: int = 0, count: int = 1) -> dict:
    """{format: path} for piece i of `count`: --out (.mid or .csv) and the other outputs, numbered."""
    from pathlib import Path

    kind = "csv" if Path(out).suffix.lower() == ".csv" else "midi"
    return {kind: _numbered(out, i, count), **{k: _numbered(v, i, count) for k, v in outputs.items()}}


def _check_out(out) -> None:
    from pathlib import Path

    if Path(out).suffix.lower() not in (".mid", ".midi", ".csv"):
        raise click.BadParameter(f"'{out}': expected a .mid or .csv file", param_hint="--out")


def _write(piece, outputs: dict, *, title, tempo, program, force) -> None:
    from chorale.io.render import render_all

    for line in render_all(piece.grid, **outputs, title=title or piece.title, tempo=tempo, program=program,
                           key=piece.key if piece.known_key else None, fermatas=piece.fermatas, force=force):
        click.echo(line)


@cli.command(short_help="Write a new chorale as MIDI.")
@model_option
@seed_option
@click.option("--count", type=COUNT, default=1, show_default=True,
              help="Chorales to write in one batched pass (song-01.mid, song-02.mid, ... with seeds seed, seed+1, ...).")
@click.option("--primer", type=Primer(), help="Opening to continue: test:3 (a held-out chorale's first two bars), a .csv, "
              "MIDI or MusicXML file, or none (default: a held-out chorale chosen by the seed).")
@click.option("--bars", type=BARS, default=defaults.BARS, show_default=True, help="Length in 4/4 bars.")
@click.option("--length", type=STEPS, help="Length in 16th-note steps (overrides --bars).")
@temperature_option
@click.option("--top-k", type=POSITIVE, help="Sample only from the k most likely notes.")
@click.option("--top-p", type=PROBABILITY, default=defaults.TOP_P, show_default=True,
              help="Sample only from the most likely notes that make up this probability (1: all).")
@click.option("--greedy", is_flag=True, help="Always take the most likely note (deterministic).")
@click.option("--range-guard/--no-range-guard", default=True, show_default=True,
              help="Keep each voice inside the range it sings in the training data.")
@voice_leading_option
@click.option("--plan-weight", type=PLAN_WEIGHT, default=defaults.PLAN_WEIGHT, show_default=True,
              help="How closely to follow the plan (key, fermatas, end): 1 is the model as it is, higher "
              "keeps the key more firmly (and samples at twice the cost).")
@click.option("--key", help="The key to write in, e.g. 'D minor', 'F# major', 'Bb' (default: the primer's; "
              "with --primer none, one of Bach's keys drawn by the seed).")
@click.option("--fermatas", metavar="BARS", help="Bars whose last chord is held, ending a phrase, e.g. 2,4,6 "
              "(default: every second bar). The last chord always ends the piece, held.")
@click.option("--data", "data_path", help="Dataset for test:N primers (default: the bundled dataset).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=str), default=defaults.GENERATE_OUT,
              show_default=True, callback=default_output,
              help="Output file: .mid, or .csv for the 16th-note grid.")
@output_options(files=False)
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
def generate(model_dir, seed, count, primer, bars, length, temperature, top_k, top_p, greedy, range_guard,
             voice_leading, plan_weight, key, fermatas, data_path, out, wav, png, musicxml, sheet, tempo, program,
             title, force):
    """Write a new chorale, one note at a time, as a MIDI file.

    Example: chorale generate --seed 3 --out song.mid --wav song.wav --png song.png
    """
    from chorale.api import _seed, load_model
    from chorale.io.render import check_outputs

    _check_out(out)
    seed = _seed(seed)
    model = load_model(model_dir)
    outputs = [_outputs(out, dict(wav=wav, png=png, musicxml=musicxml, sheet=sheet), i, count) for i in range(count)]
    for o in outputs:  # refuse before sampling: no time spent, no file written
        check_outputs(o, force)
    with _progress("Sampling") as update:
        pieces = model.generate(seed, count=count, bars=bars, steps=length, primer=primer, temperature=temperature,
                                top_k=top_k, top_p=top_p, greedy=greedy, range_guard=range_guard,
                                voice_leading=voice_leading, plan_weight=plan_weight, key=key, fermatas=fermatas,
                                data=data_path,
                                progress=update)
    for piece, o in zip(pieces, outputs):
        _write(piece, o, title=title, tempo=tempo, program=program, force=force)
        d = piece.details
        planned = f"in {d['key']}, " if d.get("key") else ""
        click.echo(f"  {piece.steps} chords {planned}in {d['seconds']:.2f} s, seed {d['seed']}, "
                   f"mean log-likelihood {d['loglik']:.3f} nats per sampled note")


# ---------------------------------------------------------------------------- render
@cli.command(short_help="Render a chorale to audio, a picture, MusicXML or sheet music.")
@click.argument("file", type=Existing())
@output_options(files=True)
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
def render(file, midi, csv, wav, png, musicxml, sheet, tempo, program, title, force):
    """Render a chorale to audio, a piano roll, MusicXML or sheet music.

    FILE is a .mid/.midi, .csv (JSB layout) or MusicXML (.musicxml, .xml, .mxl) file.

    Example: chorale render chorale.csv --wav chorale.wav --png roll.png --sheet score.pdf
    """
    from chorale.piece import load

    outputs = dict(midi=midi, csv=csv, wav=wav, png=png, musicxml=musicxml, sheet=sheet)
    if not any(outputs.values()):
        raise click.UsageError("nothing to write: give at least one of --wav, --png, --musicxml, --sheet, --midi, --csv")
    _write(load(file), outputs, title=title, tempo=tempo, program=program, force=force)


# ------------------------------------------------------------------------ forecast
@cli.group(cls=Group, short_help="Forecast time series with the sequence models.")
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


@forecast.command("synthetic", short_help="The chapter's experiments on synthetic series.")
@click.option("--task", type=click.Choice(["next", "ahead"]), default="next", show_default=True,
              help="next: predict step 51; ahead: predict the next 10 steps.")
@click.option("--models", help="Comma-separated models (default: the chapter's list for the "
              f"task). Any of: {', '.join(FORECAST_MODELS)}.")
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
    names = _parse_models(models)
    _check_outputs(force, json_path, plot)
    import json

    from chorale.forecast.models import AHEAD_MODELS, NEXT_MODELS, format_table, plot_synthetic, run_synthetic
    from chorale.io.files import atomic_write, final_outputs

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
    with final_outputs(force):  # never replace a file another command wrote meanwhile
        if json_path:
            with atomic_write(json_path) as f:
                json.dump(result, f, indent=1)
            click.echo(f"Wrote {json_path}")
        if plot:
            plot_synthetic(result, plot)
            click.echo(f"Wrote {plot}")


def _fixed(values, significant: int = 5):
    """A formatter giving every number of a table the same decimals: `significant` digits
    for the largest, so columns line up and compare at a glance."""
    import math

    finite = [abs(v) for v in values if math.isfinite(v) and v]
    decimals = max(0, significant - 1 - math.floor(math.log10(max(finite)))) if finite else significant - 1
    return lambda v: f"{v:.{decimals}f}"


@forecast.command("csv", short_help="Backtest and forecast a series from a CSV file.")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--column", required=True, help="The column to forecast.")
@click.option("--time-column", help="Dates or numbers, increasing, at a regular step.")
@click.option("--horizon", type=POSITIVE, default=10, show_default=True, help="Steps to forecast.")
@click.option("--window", type=POSITIVE, default=50, show_default=True, help="Input steps.")
@click.option("--model", type=click.Choice(FORECAST_MODELS), default="gru", show_default=True)
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
    _check_outputs(force, out, plot)
    from chorale.io.files import atomic_write, final_outputs
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
    scores = _fixed([v for s in result["backtest"].values() for v in s.values()])
    for name, s in result["backtest"].items():
        click.echo(f"  {name:<26}{scores(s['mse']):>12}{scores(s['mae']):>12}")
    band = f", band ±2 std over {uncertainty} MC dropout passes" if uncertainty else ""
    click.echo(f"Forecast of the next {horizon} steps{band}:")
    numbers = result["forecast"].select_dtypes("number")
    click.echo(result["forecast"].to_string(index=False, float_format=_fixed(numbers.to_numpy().ravel())))
    with final_outputs(force):  # never replace a file another command wrote meanwhile
        if out:
            with atomic_write(out, newline="") as f:
                result["forecast"].to_csv(f, index=False)
            click.echo(f"Wrote {out}")
        if plot:
            plot_forecast(series, result, plot, title=f"{file}: {column}")
            click.echo(f"Wrote {plot}")


# ---------------------------------------------------------------------------- harmonize
@cli.command("harmonize", short_help="Write alto, tenor and bass under a melody.")
@click.argument("melody", type=Existing())
@click.option("--voice", type=Voices(), default=defaults.VOICE, show_default=True,
              help="The voice that sings the melody (soprano, alto, tenor or bass); the model writes the "
              "other three. Two or three, e.g. soprano,bass: MELODY is a piece whose those voices are kept.")
@click.option("--part", help="Part or track holding the melody: a 0-based number or a name "
              "(default: the one named Soprano, else the first).")
@click.option("--candidates", type=COUNT, default=defaults.CANDIDATES, show_default=True,
              help="Harmonizations to sample; keep the one with the fewest voice-leading errors "
              "(then the highest log-likelihood).")
@model_option
@seed_option
@temperature_option
@voice_leading_option
@click.option("--key", help="The melody's key, e.g. 'D minor' (default: estimated from the melody).")
@click.option("--fermatas", metavar="BARS", help="Bars of the melody whose last note is held, ending a phrase, "
              "e.g. 2,4,6 (default: the fermatas a MusicXML melody marks).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=str), default=defaults.HARMONIZE_OUT,
              show_default=True, callback=default_output,
              help="Output file: .mid, or .csv for the 16th-note grid.")
@output_options(files=False)
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
def harmonize_cmd(melody, voice, part, candidates, model_dir, seed, temperature, voice_leading, key, fermatas, out,
                  wav, png, musicxml, sheet, tempo, program, title, force):
    """Write alto, tenor and bass under a melody (or the other voices around --voice).

    MELODY is a MIDI, MusicXML or JSB-style CSV file with one melodic line (or pick one
    with --part); it is quantized to 16th notes and moved by octaves (else by the
    smallest shift) into the model's range for the voice. A CSV cannot tell a repeated
    note from a held one (C C becomes one long C): give MIDI or MusicXML to keep them.

    Example: chorale harmonize tune.mid --candidates 8 --seed 1 --out tune-satb.mid --wav tune.wav
    """
    from chorale.api import _seed, load_model
    from chorale.encoding import VOICES, note_name
    from chorale.io.render import check_outputs
    from chorale.music import describe_faults

    _check_out(out)
    outputs = _outputs(out, dict(wav=wav, png=png, musicxml=musicxml, sheet=sheet))
    check_outputs(outputs, force)  # refuse before sampling: no time spent, no file written
    seed = _seed(seed)
    model = load_model(model_dir)
    with _progress(f"Harmonizing ({candidates} candidates)") as update:
        piece = model.harmonize(melody, voice=voice, part=part, candidates=candidates, seed=seed,
                                temperature=temperature, voice_leading=voice_leading, key=key, fermatas=fermatas,
                                progress=update)
    d = piece.details
    if d["shift"] and voice in VOICES:
        low, high = model.voice_ranges[VOICES.index(voice)]
        click.echo(f"Transposed the melody {'up' if d['shift'] > 0 else 'down'} {abs(d['shift'])} semitones to fit "
                   f"the model's {voice} range {note_name(low)}..{note_name(high)}.")
    elif d["shift"]:
        click.echo(f"Transposed the {voice.replace(',', ', ')} {'up' if d['shift'] > 0 else 'down'} "
                   f"{abs(d['shift'])} semitones to fit the model's ranges.")
    _write(piece, outputs, title=title, tempo=tempo, program=program, force=force)
    click.echo(f"  {piece.steps} steps, candidate {d['candidate'] + 1} of {candidates} (seed {d['seed']}): "
               f"{describe_faults(d['faults'])}, mean log-likelihood {d['loglik']:.3f} nats per sampled note")


# ---------------------------------------------------------------------------- regenerate
@cli.command("regenerate", short_help="Rewrite some bars (and voices) of a chorale.")
@click.argument("file", type=Existing())
@click.option("--bars", required=True, help="The bars to rewrite, 1-based: 5-6, or 5.")
@click.option("--voices", help="Voices to rewrite, comma-separated (default: all four).")
@click.option("--keep", help="Voices whose notes stay inside the bars too, e.g. soprano.")
@click.option("--candidates", type=COUNT, default=defaults.CANDIDATES, show_default=True,
              help="Versions to sample; keep the one with the fewest voice-leading errors, then the most "
              "likely one.")
@model_option
@seed_option
@temperature_option
@voice_leading_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=str), required=True,
              help="Output file: .mid, or .csv for the 16th-note grid.")
@output_options(files=False)
@click.option("--force", is_flag=True, help="Overwrite existing output files.")
def regenerate_cmd(file, bars, voices, keep, candidates, model_dir, seed, temperature, voice_leading, out, wav, png,
                   musicxml, sheet, tempo, program, title, force):
    """Rewrite the chosen voices in the chosen bars of FILE; every other note stays as it is.

    FILE is a MIDI, MusicXML or JSB-style CSV chorale. Example:
    chorale regenerate song.mid --bars 5-6 --voices alto,tenor,bass --seed 1 --out song-v2.mid
    """
    from chorale.api import _seed, load_model
    from chorale.io.render import check_outputs
    from chorale.music import describe_faults
    from chorale.piece import load

    _check_out(out)
    outputs = _outputs(out, dict(wav=wav, png=png, musicxml=musicxml, sheet=sheet))
    check_outputs(outputs, force)  # refuse before sampling: no time spent, no file written
    seed = _seed(seed)
    piece, model = load(file), load_model(model_dir)
    with _progress(f"Regenerating ({candidates} candidates)") as update:
        new = model.regenerate(piece, bars=bars, voices=voices, keep=keep, candidates=candidates, seed=seed,
                               temperature=temperature, voice_leading=voice_leading, progress=update)
    d = new.details
    if d["whole"]:
        click.echo("The bars and voices cover the whole piece: this is writing it anew.")
    _write(new, outputs, title=title, tempo=tempo, program=program, force=force)
    click.echo(f"  bars {d['bars'][0]}-{d['bars'][1]} ({', '.join(d['voices'])}), candidate {d['candidate'] + 1} of "
               f"{candidates} (seed {d['seed']}): {describe_faults(d['faults'])}, mean log-likelihood "
               f"{d['loglik']:.3f} nats per written note")


# ---------------------------------------------------------------------------- studio
@cli.command("studio", short_help="A local web page to write, hear, harmonize and regenerate chorales.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on: this computer only unless you name another (e.g. 0.0.0.0).")
@model_option
@click.option("--open", "open_browser", is_flag=True, help="Open the page in your web browser.")
def studio_cmd(port, host, model_dir, open_browser):
    """Serve the studio page on http://127.0.0.1:PORT/ until Ctrl-C.

    Write (seed, bars, key, temperature, primer), see the piano roll and the sheet music,
    hear it, harmonize an uploaded melody, select bars and voices on the roll and
    regenerate them (with undo and redo), and download MIDI, MusicXML, WAV or CSV. The
    page is served from the package: it needs no internet.

    Example: chorale studio --open
    """
    from chorale.studio.server import serve

    serve(host=host, port=port, model_dir=model_dir, open_browser=open_browser, echo=click.echo)


def main():
    cli(prog_name="chorale")


if __name__ == "__main__":
    sys.exit(main())
