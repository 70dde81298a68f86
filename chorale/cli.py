"""The `chorale` command line.

Heavy libraries (TensorFlow, music21, pandas) are imported inside the commands, so
`chorale --help` stays fast. Errors a user can cause are ChoraleError: they print one
line `Error: ...` and exit 1; usage errors exit 2 (Click's convention); Ctrl-C exits 130.
"""

from __future__ import annotations

import sys

import click

from chorale import ChoraleError, __version__


class Group(click.Group):
    """A Click group that turns the project's errors into one-line messages."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ChoraleError as e:
            click.echo(f"Error: {e}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("\nInterrupted.", err=True)
            ctx.exit(130)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chorale")
def cli():
    """Learn from Bach's four-part chorales and write new ones as MIDI."""


# ---------------------------------------------------------------------------- data
@cli.group(cls=Group)
def data():
    """Build and inspect chorale datasets."""


@data.command("info")
@click.argument("path", required=False, type=click.Path(path_type=str))
def data_info(path):
    """Summarize a dataset: chorales per split, lengths, pitch range per voice.

    PATH is a dataset folder, a split folder, a CSV file or a .tgz/.zip archive
    (default: the bundled dataset).
    """
    from chorale.data import info, load

    dataset = load(path)
    summary = info(dataset)
    click.echo(f"Dataset: {summary['source']}")
    for split, s in summary["splits"].items():
        click.echo(f"  {split:<6} {s['chorales']:4d} chorales  {s['steps']:7d} steps  "
                   f"length {s['min_steps']}..{s['max_steps']}")
    for voice, rng in summary["pitch_range"].items():
        click.echo(f"  {voice:<8} pitches {rng[0]}..{rng[1]}" if rng else f"  {voice:<8} rests only")
    if dataset.manifest:
        _echo_manifest_summary(dataset.manifest)


def _echo_manifest_summary(manifest_text: str) -> None:
    import io

    import pandas as pd

    m = pd.read_csv(io.StringIO(manifest_text))
    for column, label in (("time_signature", "meters"), ("key", "keys")):
        if column in m:
            counts = m[column].value_counts()
            shown = ", ".join(f"{k} {v}" for k, v in counts.head(8).items())
            more = f", ... ({len(counts)} in all)" if len(counts) > 8 else ""
            click.echo(f"  {label}: {shown}{more}")


def main():
    cli(prog_name="chorale")


if __name__ == "__main__":
    sys.exit(main())
