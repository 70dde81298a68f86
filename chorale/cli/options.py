"""Options and helpers the writing commands share: the model, seed, temperature and
voice-leading options, one output option per format of the registry (passed to the
command as one `outputs` mapping, so a new format needs no new parameter anywhere), and a
progress bar for the API's progress callback."""

from __future__ import annotations

import contextlib
import functools
import sys
from pathlib import Path

import click

from chorale import defaults
from chorale.cli.types import SEED, TEMPERATURE, TEMPO, default_output
from chorale.registry import FORMATS, OUT_FORMATS


@contextlib.contextmanager
def progress_bar(label: str):
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
    from chorale.api import instrument

    return instrument(value)


def output_options(*, files: bool):
    """One option per output format (--wav, --png, --musicxml, --sheet, and with `files` also
    --midi and --csv, which otherwise --out writes), gathered into the command's `outputs`
    argument {format name: path or None}; then --tempo, --instrument (passed on as
    `program`) and --title."""
    shown = [f for f in FORMATS if files or f.name not in OUT_FORMATS]

    def decorate(command):
        @functools.wraps(command)
        def with_outputs(**kwargs):
            return command(outputs={f.name: kwargs.pop(f.name) for f in shown}, **kwargs)

        output = click.Path(dir_okay=False, path_type=Path)
        options = [click.option(f"--{f.name}", type=output, help=f.help) for f in shown]
        options += [
            click.option("--tempo", type=TEMPO, default=defaults.TEMPO, show_default=True,
                         help="Quarter notes per minute."),
            click.option("--instrument", "program", default=defaults.INSTRUMENT, show_default=True,
                         callback=_program_option,
                         help="General MIDI instrument: a name such as 'choir aahs' or 'string ensemble 1', or 1-128."),
            click.option("--title", help="Title for the MIDI file, picture and score."),
        ]
        for option in reversed(options):
            with_outputs = option(with_outputs)
        return with_outputs
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
force_option = click.option("--force", is_flag=True, help="Overwrite existing output files.")


def out_option(default: str | None = None):
    """--out of a writing command: a default in ./outputs/ (made when the first file is
    written into it), or required without one."""
    if default is None:
        return click.option("--out", type=click.Path(dir_okay=False, path_type=str), required=True,
                            help="Output file: .mid, or .csv for the 16th-note grid.")
    return click.option("--out", type=click.Path(dir_okay=False, path_type=str), default=default, show_default=True,
                        callback=default_output, help="Output file: .mid, or .csv for the 16th-note grid.")


def _numbered(path, i: int, count: int):
    """song.mid -> song-01.mid when writing several files."""
    if path is None or count == 1:
        return path
    path = Path(path)
    return path.with_name(f"{path.stem}-{i + 1:0{max(2, len(str(count)))}d}{path.suffix}")


def check_out(out) -> None:
    """--out of a writing command: one of the formats it can write (MIDI or CSV)."""
    suffixes = [s for f in FORMATS if f.name in OUT_FORMATS for s in f.suffixes]
    if Path(out).suffix.lower() not in suffixes:
        expected = " or ".join(f.suffixes[0] for f in FORMATS if f.name in OUT_FORMATS)
        raise click.BadParameter(f"'{out}': expected a {expected} file", param_hint="--out")


def numbered_outputs(out, outputs: dict, i: int = 0, count: int = 1) -> dict:
    """{format: path} for piece i of `count`: --out (as the format its suffix names) and the
    other outputs, numbered."""
    kind = next(f.name for f in FORMATS if f.name in OUT_FORMATS and Path(out).suffix.lower() in f.suffixes)
    return {kind: _numbered(out, i, count), **{k: _numbered(v, i, count) for k, v in outputs.items()}}


def write(piece, outputs: dict, *, title, tempo, program, force) -> None:
    from chorale.api import write as write_piece

    for line in write_piece(piece, outputs, title=title, tempo=tempo, program=program, force=force):
        click.echo(line)
