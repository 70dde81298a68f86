"""`chorale data build` and `chorale data info`."""

from __future__ import annotations

import sys

import click

from chorale.cli.app import Group
from chorale.cli.types import POSITIVE


@click.group(cls=Group)
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
    from chorale.api import build_dataset

    label = "Parsing the Bach corpus"
    out, kept, skipped = build_dataset(
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
    from chorale.api import dataset_info

    summary = dataset_info(path)
    click.echo(f"Dataset: {summary['source']}")
    for split, s in summary["splits"].items():
        click.echo(f"  {split:<6} {s['chorales']:4d} chorales  {s['steps']:7d} steps  "
                   f"length {s['min_steps']}..{s['max_steps']}")
    for voice, rng in summary["pitch_range"].items():
        click.echo(f"  {voice:<8} pitches {rng[0]}..{rng[1]}" if rng else f"  {voice:<8} rests only")
    if "fermatas" in summary:
        f = summary["fermatas"]
        click.echo(f"  fermatas: {f['per_chorale']:.1f} per chorale ({f['known']} chorales with them known)")
    for label in ("meters", "keys"):
        if label in summary:
            counts = summary[label]
            more = f", ... ({len(counts)} in all)" if len(counts) > 8 else ""
            click.echo(f"  {label}: {', '.join(f'{k} {v}' for k, v in counts[:8])}{more}")
