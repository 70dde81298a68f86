"""`chorale data build` and `chorale data info`."""

from __future__ import annotations

import click

from chorale import ChoraleError
from chorale.cli.app import Group
from chorale.cli.options import progress_bar
from chorale.cli.types import POSITIVE


@click.group(cls=Group)
def data():
    """Build and inspect chorale datasets."""


@data.command("build", short_help="Build a dataset from music21's Bach chorales or your own scores.")
@click.option("--from", "folder", type=click.Path(path_type=str), default=None,
              help="A folder of your own scores (MusicXML, MIDI, Humdrum kern, JSB CSV) instead of Bach's.")
@click.option("--out", type=click.Path(path_type=str), default=None,
              help="Dataset folder to write (default: the bundled data/chorales; with --from: "
              "outputs/datasets/<folder name>).")
@click.option("--force", is_flag=True, help="Replace an existing non-empty output folder.")
@click.option("--limit", type=POSITIVE, default=None,
              help="Build only the first N files (quick tries).")
@click.option("--jobs", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Parallel parsing processes.")
def data_build(folder, out, force, limit, jobs):
    """Build the dataset from music21's bundled Bach chorales (offline, deterministic), or
    with --from DIR from every score under DIR that is a four-part chorale in 4/4 or 3/4
    (the others are listed with the reason and skipped).

    Each score with one Soprano, Alto, Tenor and Bass part (instrument parts are ignored)
    becomes a CSV of 16th-note rows: held notes repeat, rests are 0, grace notes are
    dropped, chords give the top note (bottom for the bass). A pickup starts at row 0,
    repeats are not expanded, and the final chord is held to complete the last bar.
    Chorales sharing a melody (same tune, even transposed) go to the same split, chosen
    by a hash (about 60/20/20). manifest.csv lists them with title, key, meter and fermatas.

    Example: chorale data build --from my-scores --out my-dataset
    """
    from chorale.api import build_dataset

    try:
        with progress_bar(f"Parsing {folder or 'the Bach corpus'}") as update:
            built = build_dataset(folder, out, force=force, limit=limit, jobs=jobs, progress=update)
    except ChoraleError as e:  # nothing usable: say why each file was skipped, then the one error line
        for name, reason in getattr(e, "skipped", ()):
            click.echo(f"  skipped {name}: {reason}", err=True)
        raise
    for name, reason in built["skipped"]:
        click.echo(f"  skipped {name}: {reason}", err=True)
    splits = ", ".join(f"{split} {count}" for split, count in built["splits"].items())
    click.echo(f"Wrote {built['out']}: {built['chorales']} chorales kept ({splits}), {len(built['skipped'])} skipped.")


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
