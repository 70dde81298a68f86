"""Build the chorale dataset from music21's bundled Bach corpus, offline and reproducibly.

Every MusicXML Bach score with exactly one Soprano, Alto, Tenor and Bass part becomes a
(steps, 4) grid of MIDI pitches on 16th notes (see docs/dataset.md for the rules). The
split is decided per *melody group* (chorales whose soprano lines are transposed or
near copies of each other), by a hash of the group's first source name, so twins never
straddle train and test, and a chorale keeps its split when others are added.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from chorale import ChoraleError
from chorale.data.loader import SPLITS, format_fermatas
from chorale.io.csvfile import write_csv
from chorale.encoding import N_VOICES, REST, STEPS_PER_QUARTER, VOICES

SPLIT_PERCENT = {"train": 60, "valid": 20, "test": 20}
MANIFEST_COLUMNS = ("id", "split", "bwv", "title", "key", "time_signature", "steps", "source", "fermatas")
SCORE_SUFFIXES = (".mxl", ".xml")  # the .krn files copy .mxl ones; .rntxt files are analyses
# Chorales sharing this share of soprano n-grams are twins: above 0.2 the pairs in the
# corpus are the same hymn tune (other text, cantata or harmonization); below, unrelated.
TWIN_SIMILARITY = 0.25
NGRAM = 4
MAX_SILENCE_STEPS = 4 * STEPS_PER_QUARTER  # longer silences are instrumental interludes


class NotAFourPartChorale(ChoraleError):
    """A score the builder skips (five voices, a keyboard piece); the message is the reason."""


@dataclass(frozen=True)
class Piece:
    source: str  # corpus-relative path, e.g. "bach/bwv26.6.mxl"
    notes: np.ndarray  # (steps, 4)
    key: str
    time_signature: str
    fermatas: tuple[int, ...] = ()  # grid rows where a chord under a fermata starts
    title: str | None = None  # a user's score's own title; None: a Bach score, titled by its BWV number

    @property
    def bwv(self) -> str:
        """The BWV number of a Bach corpus score; blank for a user's score."""
        return Path(self.source).stem.removeprefix("bwv") if self.title is None else ""


def corpus_root() -> Path:
    from music21 import common

    return Path(common.getCorpusFilePath())


def corpus_sources() -> list[str]:
    """Corpus-relative paths of the Bach MusicXML scores, in BWV order."""
    from music21 import corpus

    root = corpus_root()
    paths = [p.relative_to(root).as_posix() for p in corpus.getComposer("bach")]
    return sorted((p for p in paths if p.endswith(SCORE_SUFFIXES)), key=natural_key)


def natural_key(text: str) -> list:
    """Sort "bwv9.7" before "bwv10.7" and "bwv26.6" before "bwv26.6-b"."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.findall(r"\d+|\D+", text)]


def voice_parts(score) -> list:
    """The Soprano, Alto, Tenor and Bass parts, chosen by the first word of the part name
    (instrument doublings are appended, e.g. "Soprano\\rOboe 1,2" or "Bass Continuo")."""
    found: dict[str, list] = {v: [] for v in VOICES}
    for part in score.parts:
        first_word = (part.partName or "").split()[:1]
        if first_word and first_word[0].lower() in found:
            found[first_word[0].lower()].append(part)
    for voice, parts in found.items():
        if len(parts) != 1:
            names = ", ".join(repr(p.partName) for p in score.parts)
            problem = f"{len(parts)} {voice} parts" if parts else f"no {voice} part"
            raise NotAFourPartChorale(f"{problem} (parts: {names})")
    return [found[v][0] for v in VOICES]


def _sample(part, steps: int, lowest: bool) -> np.ndarray:
    """The pitch sounding at each 16th-note grid point of one voice, 0 where it rests.

    Grid points inside a note (tied or not) get its pitch; a chord or overlapping notes
    give the top pitch (the bottom one for the bass); grace notes take no time and are
    dropped. Offsets are exact Fractions for triplets, so ceil() picks the right points.
    """
    grid = np.full(steps, REST, dtype=np.int32)
    for note in part.flatten().notes:
        if note.duration.isGrace:
            continue
        first = math.ceil(note.offset * STEPS_PER_QUARTER)
        stop = math.ceil((note.offset + note.quarterLength) * STEPS_PER_QUARTER)
        pitch = (min if lowest else max)(p.midi for p in note.pitches)
        held = grid[first:stop]
        grid[first:stop] = np.where(held == REST, pitch, (np.minimum if lowest else np.maximum)(held, pitch))
    return grid


def chorale_grid(score_or_path) -> np.ndarray:
    """(steps, 4) MIDI pitches of a four-part chorale; a pickup starts at row 0, repeats
    are not expanded and the final chord is held to complete the last bar."""
    return _grid(voice_parts(_parse(score_or_path)))[0]


def _grid(parts) -> tuple[np.ndarray, int]:
    """The grid of `chorale_grid` and the score's row (in 16ths) that became its row 0."""
    steps = math.ceil(max(part.highestTime for part in parts) * STEPS_PER_QUARTER)
    grid = np.stack([_sample(p, steps, lowest=(v == N_VOICES - 1)) for v, p in enumerate(parts)], axis=1)
    sung = np.flatnonzero((grid != REST).any(axis=1))
    if sung.size == 0:
        raise NotAFourPartChorale("the voices never sing")
    longest_silence = np.diff(sung).max(initial=1) - 1
    if longest_silence > MAX_SILENCE_STEPS:
        raise NotAFourPartChorale(f"all voices rest together for {longest_silence / STEPS_PER_QUARTER:g} "
                                  f"quarter notes (instrumental interludes)")
    # Instruments may play before and after the voices: cut that, then hold the last chord
    # to the end of its bar.
    end = (sung[-1] + 1) / STEPS_PER_QUARTER
    bars = [m for m in parts[0].getElementsByClass("Measure") if m.offset < end]
    bar_end = bars[-1].offset + bars[-1].barDuration.quarterLength if bars else end
    grid = grid[sung[0]:sung[-1] + 1]
    hold = max(0, round((bar_end - end) * STEPS_PER_QUARTER))
    return np.concatenate([grid, np.repeat(grid[-1:], hold, axis=0)]), int(sung[0])


def fermatas(parts, first_row: int, steps: int) -> tuple[int, ...]:
    """Grid rows where a note with a fermata starts: the soprano's, or where the soprano
    has none, any voice's. That is the chord under the fermata even when the note is tied
    over from before (the other voices arrive with the downbeat). `first_row` is the
    score's row that became row 0."""
    from music21.expressions import Fermata

    for voices in (parts[:1], parts):
        rows = {math.ceil(n.offset * STEPS_PER_QUARTER) - first_row
                for part in voices for n in part.flatten().notes
                if not n.duration.isGrace and any(isinstance(e, Fermata) for e in n.expressions)}
        if rows:
            return tuple(sorted(r for r in rows if 0 <= r < steps))
    return ()


def _parse(score_or_path):
    if not isinstance(score_or_path, (str, os.PathLike)):
        return score_or_path
    from music21 import converter

    path = Path(score_or_path)
    return converter.parse(path if path.is_absolute() else corpus_root() / path)


def _key_name(score) -> str:
    """The key written in the score (MusicXML carries the mode); analyze only without it."""
    from music21 import key

    written = score.recurse().getElementsByClass(key.KeySignature).first()
    found = written if isinstance(written, key.Key) else score.analyze("key")
    return f"{found.tonic.name.replace('-', 'b')} {found.mode}"


def titles() -> dict[str, str]:
    """Hymn titles by BWV number, from music21's Riemenschneider/Kalmus/BWV chorale list."""
    from music21.corpus.chorales import ChoraleListRKBWV

    return {bwv: entry["title"] for bwv, entry in ChoraleListRKBWV().byBWV.items()}


def _title(bwv: str, known: dict[str, str]) -> str:
    return known.get(bwv) or known.get(re.sub(r"-[a-z]+$", "", bwv), "")


def convert(source: str) -> Piece | str:
    """One corpus file as a Piece, or the reason it is skipped."""
    from music21 import meter

    score = _parse(source)
    try:
        parts = voice_parts(score)
        notes, first_row = _grid(parts)
    except NotAFourPartChorale as e:
        return str(e)
    meters = dict.fromkeys(t.ratioString for t in score.recurse().getElementsByClass(meter.TimeSignature))
    return Piece(source, notes, _key_name(score), " ".join(meters), fermatas(parts, first_row, len(notes)))


def melody_ngrams(notes: np.ndarray) -> frozenset:
    """Transposition-invariant n-grams of the soprano line, each note as (interval from
    the previous note, length in steps); held rows merge into one note, rests are left out."""
    soprano = notes[:, 0]
    starts = np.flatnonzero(np.diff(soprano, prepend=-1))
    lengths = np.diff(np.append(starts, len(soprano)))
    sung = soprano[starts] != REST
    pitches, lengths = soprano[starts][sung], lengths[sung]
    steps = list(zip(np.diff(pitches).tolist(), lengths[1:].tolist()))
    return frozenset(tuple(steps[i:i + NGRAM]) for i in range(len(steps) - NGRAM + 1))


def twin_groups(melodies: list[frozenset]) -> list[int]:
    """Index of each melody's group: the first melody (in list order) it is linked to
    through a chain of twins (Jaccard similarity of n-grams >= TWIN_SIMILARITY)."""
    group = list(range(len(melodies)))

    def root(i: int) -> int:
        while group[i] != i:
            i = group[i]
        return i

    for i, a in enumerate(melodies):
        for j in range(i):
            b = melodies[j]
            if a and b and len(a & b) >= TWIN_SIMILARITY * len(a | b):
                ri, rj = root(i), root(j)
                group[max(ri, rj)] = min(ri, rj)
    return [root(i) for i in range(len(melodies))]


def split_of(group_key: str) -> str:
    """A split chosen by a hash of the key: deterministic and independent of other chorales."""
    bucket = int(hashlib.sha256(group_key.encode()).hexdigest(), 16) % 100
    for split in SPLITS:
        if bucket < SPLIT_PERCENT[split]:
            return split
        bucket -= SPLIT_PERCENT[split]
    raise AssertionError("SPLIT_PERCENT must add up to 100")


def assign_splits(pieces: list[Piece]) -> list[str]:
    """Twins share a split: each group takes the split hashed from the source name of its
    member listed first. A name, unlike the notes, survives corrections to the score."""
    groups = twin_groups([melody_ngrams(p.notes) for p in pieces])
    return [split_of(pieces[g].source) for g in groups]


class NothingKept(ChoraleError):
    """No source became a chorale; `skipped` holds each (source, reason)."""

    def __init__(self, message: str, skipped: list[tuple[str, str]]):
        super().__init__(message)
        self.skipped = skipped


def build(out, *, sources: list[str] | None = None, convert=convert, force: bool = False, limit: int | None = None,
          jobs: int = 2, progress=lambda items, length: contextlib.nullcontext(items)
          ) -> tuple[list[Piece], list[tuple[str, str]]]:
    """Build the dataset folder `out` from `sources` (default: the Bach corpus), each made a
    Piece or a reason by `convert`; return (kept pieces, [(source, reason skipped)]).

    The folder is written beside `out` and renamed into place, so a failed build leaves
    the old dataset untouched; a build that keeps nothing writes nothing.
    `progress(iterable, length)` may wrap the parsing loop."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ChoraleError(f"{out}: exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not force:
        raise ChoraleError(f"{out}: already exists and is not empty (use --force to replace it)")
    sources = (corpus_sources() if sources is None else sources)[:limit]
    with Pool(jobs) if jobs > 1 else contextlib.nullcontext() as pool:
        results = pool.imap(convert, sources, chunksize=4) if pool else map(convert, sources)
        with progress(results, len(sources)) as results:
            converted = dict(zip(sources, results))
    kept = [p for p in converted.values() if isinstance(p, Piece)]
    skipped = [(s, r) for s, r in converted.items() if isinstance(r, str)]
    if not kept:
        raise NothingKept(f"{out}: not written: none of the {len(sources)} files is a four-part chorale "
                          f"the grid can hold", skipped)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    except OSError as e:
        raise ChoraleError(f"{out}: cannot write ({e.strerror})") from None
    try:
        _write(staging, kept)
        _replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return kept, skipped


def _write(folder: Path, pieces: list[Piece]) -> None:
    rows, known_titles = [], titles() if any(p.title is None for p in pieces) else {}
    for number, (piece, split) in enumerate(zip(pieces, assign_splits(pieces))):
        name = f"chorale_{number:03d}"
        (folder / split).mkdir(exist_ok=True)
        write_csv(folder / split / f"{name}.csv", piece.notes)
        title = piece.title if piece.title is not None else _title(piece.bwv, known_titles)
        rows.append((name, split, piece.bwv, title, piece.key, piece.time_signature,
                     len(piece.notes), piece.source, format_fermatas(piece.fermatas)))
    with open(folder / "manifest.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([MANIFEST_COLUMNS, *rows])


def _replace(staging: Path, out: Path) -> None:
    """Swap the finished folder in: two renames, the old one deleted only afterwards."""
    old = out.with_name(f".{out.name}.old")
    if out.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out, old)
    os.replace(staging, out)
    shutil.rmtree(old, ignore_errors=True)
