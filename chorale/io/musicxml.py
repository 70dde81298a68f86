"""Chorale grids to and from MusicXML, through music21: four named parts in 4/4 with
their clefs, pitches spelled for the key, fermatas; import reads each part as a line
(chorale.io.lines), which chorale.io.scores maps to voices."""

from __future__ import annotations

import functools
import io
import re
import warnings
import zipfile
from pathlib import Path

import numpy as np

from chorale import ChoraleError
from chorale.encoding import REST, STEPS_PER_BAR, STEPS_PER_QUARTER, VOICES, check_grid, runs
from chorale.io.lines import Line
from chorale.io.midi import DEFAULT_TEMPO, clean_title
from chorale.keys import key_name, key_of
from chorale.limits import MAX_MUSIC_BYTES

MUSICXML_SUFFIXES = (".musicxml", ".xml", ".mxl")


def music21_key(grid, key: str | None = None):
    """The music21 Key to write: `key` ("D minor", "Bb major") when the piece was planned in
    one, else the best fit to its notes (chorale.keys.best_key); None for a piece of rests."""
    from music21.key import Key

    found = key_of(grid, key)
    if found is None:
        return None
    tonic, mode = key_name(*found).split()
    return Key(tonic[0] + tonic[1:].replace("b", "-"), mode)


# ---------------------------------------------------------------------------- export
def to_score(grid, *, title: str = "Chorale", tempo: float = DEFAULT_TEMPO, key: str | None = None,
             fermatas=()):
    """A music21 Score in 4/4 with four named parts, pitches spelled for `key` (else the
    estimated key), a fermata over every voice's note at each of `fermatas` (steps)."""
    from music21 import metadata, tempo as m21tempo

    from chorale import __version__

    grid = check_grid(grid)
    score = _score(grid, music21_key(grid, key), fermatas)
    score.insert(0, metadata.Metadata(title=clean_title(title)))
    # Any contributor stops music21 from printing "Music21" as the composer.
    score.metadata.addContributor(metadata.Contributor(role="transcriber", name=f"chorale {__version__}"))
    score.parts[0].insert(0, m21tempo.MetronomeMark(number=tempo, referent="quarter"))
    return score.makeNotation()


def _score(grid: np.ndarray, key, fermatas=()):
    """Four parts of notes and rests, not yet cut into measures; `key` None leaves pitches
    unspelled (estimating the key needs this score first)."""
    from music21 import clef, expressions, instrument, meter, note, pitch, stream

    degrees = _degrees(key)

    @functools.cache
    def spelled(midi_pitch: int) -> str:  # the scale is slow to realize: once per key, each pitch once
        return _spelled(pitch.Pitch(midi=midi_pitch), key, degrees).nameWithOctave

    score = stream.Score()
    clefs = (clef.TrebleClef, clef.TrebleClef, clef.Treble8vbClef, clef.BassClef)
    singers = (instrument.Soprano, instrument.Alto, instrument.Tenor, instrument.Bass)
    for voice, (name, make_clef, singer) in enumerate(zip(VOICES, clefs, singers)):
        part = stream.Part(id=name)
        part.partName = name.capitalize()
        part.append([singer(), make_clef(), meter.TimeSignature("4/4")] + ([key] if key else []))
        for start, stop, midi_pitch in runs(grid[:, voice]):
            length = (stop - start) / STEPS_PER_QUARTER
            sung = (note.Rest(quarterLength=length) if midi_pitch == REST
                    else note.Note(spelled(midi_pitch), quarterLength=length))
            if any(start <= f < stop for f in fermatas):
                sung.expressions.append(expressions.Fermata())
            part.append(sung)
        score.insert(0, part)
    return score


def _degrees(key) -> set[str]:
    """The names of `key`'s scale degrees, with the minor's raised 6th and 7th."""
    if key is None:
        return set()
    degrees = {q.name for q in key.getScale().getPitches()}
    if key.mode == "minor":
        degrees |= {key.tonic.transpose("M6").name, key.tonic.transpose("M7").name}
    return degrees


def _spelled(p, key, degrees: set[str]):
    """The spelling a musician expects in `key`: a scale degree if the pitch is one, else
    sharps in sharp keys and flats in flat keys."""
    if key is None:
        return p
    for candidate in (p, *p.getAllCommonEnharmonics(alterLimit=1)):
        if candidate.name in degrees:
            return candidate
    uses_flat = p.accidental is not None and p.accidental.alter < 0
    return p.getEnharmonic() if uses_flat != (key.sharps < 0) and p.accidental is not None else p


# ---------------------------------------------------------------------------- import
def musicxml_text(path: Path, data: bytes) -> str:
    """The score's XML: the file itself, or for .mxl the root file of the zip, whose
    uncompressed size is checked before it is inflated (a small .mxl can hold gigabytes)."""
    if path.suffix.lower() != ".mxl":
        return data.decode("utf-8", errors="replace")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            root = re.search(rb'full-path="([^"]+)"', z.read("META-INF/container.xml")) \
                if "META-INF/container.xml" in z.namelist() else None
            name = root[1].decode("utf-8", "replace") if root else next(
                n for n in z.namelist() if n.lower().endswith((".xml", ".musicxml")) and not n.startswith("META-INF"))
            info = z.getinfo(name)
            if info.file_size > MAX_MUSIC_BYTES:
                raise ChoraleError(f"{path}: the score inside is {info.file_size:,} bytes uncompressed, "
                                   f"too large for a chorale (limit {MAX_MUSIC_BYTES:,})")
            return z.read(info).decode("utf-8", errors="replace")
    except ChoraleError:
        raise
    except Exception as e:  # zipfile and zlib raise many kinds on a corrupt archive
        raise ChoraleError(f"{path}: not readable MusicXML (a damaged .mxl: {type(e).__name__})") from None


def musicxml_lines(path: Path, data: bytes):
    from music21 import converter, expressions, meter, stream

    text = musicxml_text(path, data)
    try:
        with warnings.catch_warnings():  # music21 warns before it fails: the error says it all
            warnings.simplefilter("ignore")
            score = converter.parseData(text, format="musicxml")
    except Exception as e:  # music21 raises many kinds on bad XML or non-music
        reason = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise ChoraleError(f"{path}: not readable MusicXML ({reason})") from None
    parts = list(score.parts) if isinstance(score, stream.Score) else [score]
    lines = []
    for index, part in enumerate(parts):
        line = Line((part.partName or f"part {index}").strip())
        for n in part.stripTies().flatten().notes:
            start = round(float(n.offset) * STEPS_PER_QUARTER)
            end = max(round(float(n.offset + n.quarterLength) * STEPS_PER_QUARTER), start + 1)
            if n.quarterLength > 0:  # grace notes take no time in the grid
                for p in n.pitches:
                    line.add((start, end, p.midi), float(n.offset))
                if any(isinstance(e, expressions.Fermata) for e in n.expressions):
                    line.fermatas.add(start)
        lines.append(line)
    signatures = score.recurse().getElementsByClass(meter.TimeSignature)
    steps_per_bar = round(signatures[0].barDuration.quarterLength * STEPS_PER_QUARTER) if signatures else STEPS_PER_BAR
    steps = max([round(float(score.highestTime) * STEPS_PER_QUARTER)] + [n[1] for line in lines for n in line.notes])
    return lines, steps, max(steps_per_bar, 1)
