"""Build a dataset from a folder of one's own scores (`chorale data build --from DIR`).

MusicXML and Humdrum kern go through music21 and the Bach corpus builder's own grid,
fermata and key code (voices found by part name, else four parts ordered by pitch); MIDI
and JSB CSV go through chorale's importers (chorale.io.midi), which map tracks to voices.
Each file becomes a `corpus.Piece` or the reason it is skipped, and `corpus.build` writes
the same layout, manifest and melody-aware split as the bundled dataset. Every file is
read within the size limits of chorale.limits.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import warnings
from pathlib import Path

import numpy as np

from chorale import ChoraleError
from chorale.data import corpus
from chorale.encoding import REST, VOICES
from chorale.io.files import kind, read_input
from chorale.limits import MAX_DATASET_BYTES, MAX_DATASET_FILES, MAX_MIDI_BYTES, MAX_MUSIC_BYTES, MAX_STEPS

FORMATS = {".musicxml": "musicxml", ".xml": "musicxml", ".mxl": "musicxml", ".krn": "humdrum",
           ".mid": "midi", ".midi": "midi", ".csv": "csv"}
METERS = ("4/4", "3/4")  # what the grid's bars and the plan's beats support


def score_files(folder, exclude=None) -> tuple[list[str], list[str]]:
    """Folder-relative paths (natural order) of the score files under `folder`, and of the
    other files; hidden files and folders (and `exclude`, a dataset being written there) are
    passed over. A folder with no score, or more than the limits allow, is refused before
    anything is parsed."""
    folder = Path(folder)
    if kind(folder) != "folder":
        raise ChoraleError(f"{folder}: no such folder" if kind(folder) is None else f"{folder}: not a folder")
    skip = os.path.realpath(exclude) if exclude is not None else None
    found, others, size = [], [], 0
    for parent, subfolders, names in os.walk(folder):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".")
                               and os.path.realpath(os.path.join(parent, d)) != skip)
        for name in names:
            path = Path(parent) / name
            if name.startswith(".") or kind(path) != "file":
                continue
            if path.suffix.lower() not in FORMATS:
                others.append(path.relative_to(folder).as_posix())
                continue
            found.append(path.relative_to(folder).as_posix())
            size += path.stat().st_size
            if len(found) > MAX_DATASET_FILES:
                raise ChoraleError(f"{folder}: more than {MAX_DATASET_FILES:,} score files, too many for a dataset")
            if size > MAX_DATASET_BYTES:
                raise ChoraleError(f"{folder}: more than {MAX_DATASET_BYTES:,} bytes of scores, too large for a dataset")
    if not found:
        seen = f" (only {len(others)} other file{'s' * (len(others) != 1)})" if others else " (it is empty)"
        raise ChoraleError(f"{folder}: no score files{seen}; expected MusicXML (.musicxml, .xml, .mxl), "
                           "MIDI (.mid, .midi), Humdrum kern (.krn) or JSB-style .csv")
    return sorted(found, key=corpus.natural_key), sorted(others, key=corpus.natural_key)


def convert(source: str, root: str) -> corpus.Piece | str:
    """One file under `root` as a Piece, or the reason it is skipped."""
    path = Path(root) / source
    try:
        found = FORMATS[path.suffix.lower()]
        piece = (_from_music21 if found in ("musicxml", "humdrum") else _from_grid)(path, found, source)
    except corpus.NotAFourPartChorale as e:
        return str(e)
    except ChoraleError as e:  # the importers name the file; the listing names it already
        return str(e).removeprefix(f"{path}: ")
    if len(piece.notes) > MAX_STEPS:
        return f"{len(piece.notes):,} sixteenth notes long, more than the limit of {MAX_STEPS:,}"
    silent = [v for v, line in zip(VOICES, piece.notes.T) if (line == REST).all()]
    if silent:
        return f"not four voices: the {', '.join(silent)} never sing{'s' * (len(silent) == 1)}"
    return piece


def build(folder, out, *, force: bool = False, limit: int | None = None, jobs: int = 2,
          progress=lambda items, length: contextlib.nullcontext(items)):
    """Build the dataset folder `out` from the scores under `folder`; see `corpus.build`.
    Files that are not scores are among the skipped."""
    sources, others = score_files(folder, exclude=out)
    others = [(name, f"not a score file ({Path(name).suffix or 'no extension'})") for name in others]
    try:
        kept, skipped = corpus.build(out, sources=sources, convert=functools.partial(convert, root=str(folder)),
                                     force=force, limit=limit, jobs=jobs, progress=progress)
    except corpus.NothingKept as e:
        raise corpus.NothingKept(f"{folder}: no usable score: none of its {len(sources)} score files is a four-part "
                                 f"chorale in {' or '.join(METERS)}; nothing written",
                                 sorted(others + e.skipped, key=lambda s: corpus.natural_key(s[0]))) from None
    return kept, sorted(others + skipped, key=lambda s: corpus.natural_key(s[0]))


def _from_music21(path: Path, found: str, source: str) -> corpus.Piece:
    from music21 import converter, meter

    data = read_input(path, MAX_MUSIC_BYTES, "score")
    if found == "musicxml":
        from chorale.io.musicxml import musicxml_text  # the .mxl is inflated within the limit

        text = musicxml_text(path, data)
    else:
        text = data.decode("utf-8", errors="replace")
    try:
        with warnings.catch_warnings():  # music21 warns before it fails: the reason says it all
            warnings.simplefilter("ignore")
            score = converter.parseData(text, format=found)
    except Exception as e:  # music21 raises many kinds on bad XML, bad kern or non-music
        reason = str(e).splitlines()[0][:120] if str(e).strip() else type(e).__name__
        raise ChoraleError(f"not readable {'MusicXML' if found == 'musicxml' else 'Humdrum kern'} ({reason})") from None
    parts = _four_parts(score)
    meters = list(dict.fromkeys(t.ratioString for t in score.recurse().getElementsByClass(meter.TimeSignature)))
    odd = [m for m in meters if m not in METERS]
    if odd:
        raise corpus.NotAFourPartChorale(f"in {odd[0]} time (the grid supports {' and '.join(METERS)})")
    notes, first_row = corpus._grid(parts)
    title = (score.metadata.title or score.metadata.movementName or "") if score.metadata else ""
    return corpus.Piece(source, notes, corpus._key_name(score), " ".join(meters) or "4/4",
                        corpus.fermatas(parts, first_row, len(notes)), title=title.strip() or path.stem)


def _four_parts(score) -> list:
    """Soprano, alto, tenor and bass: the parts named so, else exactly four parts with
    notes, ordered by their average pitch (kern lists the bass first; names vary)."""
    try:
        return corpus.voice_parts(score)
    except corpus.NotAFourPartChorale as e:
        named = e
    sung = [p for p in getattr(score, "parts", ()) if p.flatten().notes]
    if len(sung) != len(VOICES):
        if any((p.partName or "").split()[:1] and p.partName.split()[0].lower() in VOICES for p in sung):
            raise corpus.NotAFourPartChorale(f"not four voices: {named}") from None
        raise corpus.NotAFourPartChorale(f"not four voices: {len(sung)} part{'s' * (len(sung) != 1)} with notes "
                                         f"(one part per voice is expected)") from None
    return sorted(sung, key=lambda p: -np.mean([q.midi for n in p.flatten().notes for q in n.pitches]))


def _from_grid(path: Path, found: str, source: str) -> corpus.Piece:
    """A MIDI or CSV file through chorale's importers: silence before and after is cut; the
    key is estimated; MIDI gives its meter and title (a CSV has neither), neither has fermatas."""
    from chorale.io.midi import read_title
    from chorale.io.scores import read_grid
    from chorale.keys import best_key, key_name

    grid = read_grid(path)
    sung = np.flatnonzero((grid != REST).any(axis=1))
    if not sung.size:
        raise ChoraleError("no notes, only rests")
    grid = grid[sung[0]:sung[-1] + 1]
    meters = _midi_meters(path) if found == "midi" else []
    odd = [m for m in meters if m not in METERS]
    if odd:
        raise corpus.NotAFourPartChorale(f"in {odd[0]} time (the grid supports {' and '.join(METERS)})")
    tonic, mode, _ = best_key(grid)
    title = (read_title(path) if found == "midi" else None) or path.stem
    return corpus.Piece(source, grid, key_name(tonic, mode), " ".join(meters) or ("4/4" if found == "midi" else ""),
                        title=title)


def _midi_meters(path: Path) -> list[str]:
    """The time signatures a MIDI file states, in order, each once (MIDI's default is 4/4)."""
    import mido

    midi = mido.MidiFile(file=io.BytesIO(read_input(path, MAX_MIDI_BYTES, "MIDI file")))  # read_grid checked it
    return list(dict.fromkeys(f"{m.numerator}/{m.denominator}" for track in midi.tracks for m in track
                              if m.type == "time_signature"))
