"""The musicality of chorale files next to Bach's: read folders of files (with their
manifests) and a dataset split, and score both with chorale.music's measures
(`chorale evaluate --music`)."""

from __future__ import annotations

from pathlib import Path

from chorale import ChoraleError
from chorale.piece import Chorale
from chorale.data.loader import load, with_manifest
from chorale.io.files import kind
from chorale.io.scores import read_grid
from chorale.music import Reference, measure

CHORALE_SUFFIXES = (".mid", ".midi", ".csv", ".musicxml", ".xml", ".mxl")


def read_groups(paths) -> dict:
    """{column title: [Chorale]}: each folder in `paths` is a column of the chorale files in
    it; loose files together make one more column, "files". A folder's `manifest.csv`
    (the dataset's format, `id` = file name without its suffix) gives their fermatas and key."""
    groups: dict[str, list] = {}
    manifests = {}
    for path in map(Path, paths):
        if kind(path) == "folder":
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in CHORALE_SUFFIXES
                           and p.name != "manifest.csv")
            if not found:
                raise ChoraleError(f"{path}: no chorale files ({', '.join(CHORALE_SUFFIXES)}) in the folder")
            title = path.name or str(path)
            title = str(path) if title in groups else title  # a/out and b/out: two columns
            groups[title] = found
            manifests[title] = path / "manifest.csv"
        else:
            groups.setdefault("files", []).append(path)
    return {title: with_manifest([Chorale(read_grid(p), title=p.stem, source=str(p)) for p in files],
                                 manifests.get(title))
            for title, files in groups.items()}


def evaluate_files(paths, data=None, split: str = "test") -> dict:
    """Score chorale files (see `read_groups`) next to the real chorales of `split`, which
    also give the histograms to match; voice ranges come from every split."""
    dataset = load(data)
    real = dataset.grids(split)
    reference = Reference.of(real, ranges_from=[n for s in dataset.splits for n in dataset.grids(s)])
    columns = {}
    for title, chorales in {f"Bach ({split})": dataset[split], **read_groups(paths)}.items():
        columns[title] = measure([c.grid for c in chorales], reference, [c.source for c in chorales],
                               [c.fermatas or None for c in chorales], [c.key if c.known_key else None for c in chorales])
    return {"data": dataset.source, "split": split, "voice_ranges": reference.ranges.tolist(), "columns": columns}
