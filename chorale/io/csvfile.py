"""The chorale CSV codec (the public JSB release's layout): header `note0,note1,note2,note3`,
one row per 16th note, a MIDI pitch or 0 for a rest in each cell. Reading validates
strictly: a bad file is reported with its name, line, column and value."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from chorale import ChoraleError
from chorale.encoding import COLUMNS, MIDI_HIGH, MIDI_LOW, N_VOICES, is_pitch
from chorale.io.files import atomic_write, read_input
from chorale.limits import MAX_STEPS, MAX_TEXT_BYTES

HEADER = ",".join(COLUMNS)


def parse_csv(text: str, name: str) -> np.ndarray:
    """Parse and validate one chorale CSV; return its (steps, 4) int32 notes."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")  # any line ending
    if not text.strip():
        raise ChoraleError(f"{name}: empty file")
    header, _, body = text.partition("\n")
    if header.strip().replace(" ", "") != HEADER:
        raise ChoraleError(f"{name}: line 1: expected header '{HEADER}', got '{header.strip()[:60]}'")
    if not body.strip():
        raise ChoraleError(f"{name}: no rows after the header")
    if body.count("\n") > MAX_STEPS and (rows := sum(1 for line in body.split("\n") if line.strip())) > MAX_STEPS:
        raise ChoraleError(f"{name}: {rows:,} rows, more than the limit of {MAX_STEPS:,} steps for a chorale")
    try:
        notes = np.loadtxt(io.StringIO(body), delimiter=",", dtype=np.int64, ndmin=2)
    except ValueError:
        notes = None
    if notes is None or notes.shape[1] != N_VOICES:
        _raise_first_bad_cell(body, name)  # slow path, only to say exactly what is wrong
    bad = ~is_pitch(notes)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ChoraleError(
            f"{name}: line {_line_of(body, row)}, column {COLUMNS[col]}: pitch {notes[row, col]} "
            f"is not 0 (rest) or a MIDI note {MIDI_LOW}..{MIDI_HIGH}"
        )
    return notes.astype(np.int32)


def _line_of(body: str, row: int) -> int:
    """1-based file line of data row `row` (blank lines are skipped by loadtxt)."""
    seen = -1
    for i, line in enumerate(body.split("\n")):
        seen += bool(line.strip())
        if seen == row:
            return i + 2
    return row + 2


def _raise_first_bad_cell(body: str, name: str) -> None:
    for i, line in enumerate(body.split("\n"), start=2):
        if not line.strip():
            continue
        cells = line.strip().split(",")
        if len(cells) != N_VOICES:
            raise ChoraleError(f"{name}: line {i}: expected {N_VOICES} values, got {len(cells)}")
        for col, cell in zip(COLUMNS, cells):
            cell = cell.strip()
            if not cell:
                raise ChoraleError(f"{name}: line {i}, column {col}: empty cell")
            if not (cell.isascii() and cell.isdigit()):
                raise ChoraleError(f"{name}: line {i}, column {col}: '{cell[:20]}' is not a whole number")
            if len(cell) > 3 or int(cell) > MIDI_HIGH:  # too large even for int64 (or for int())
                raise ChoraleError(f"{name}: line {i}, column {col}: pitch {cell[:20]} is not a MIDI note")
    raise ChoraleError(f"{name}: cannot be read as CSV")


def read_text(path: Path, budget=None) -> str:
    data = read_input(path, MAX_TEXT_BYTES, "chorale CSV")
    if budget:
        budget.take(path, len(data))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ChoraleError(f"{path}: not a text file") from None


def read_csv(path, budget=None) -> np.ndarray:
    """Read and validate one chorale CSV file; `budget.take(path, size)` may refuse it first
    (a dataset's byte budget)."""
    path = Path(path)
    return parse_csv(read_text(path, budget), str(path))


def write_csv(path, notes: np.ndarray) -> None:
    """Write a (steps, 4) grid as a JSB-style CSV, atomically."""
    notes = np.asarray(notes)
    with atomic_write(path, newline="") as f:
        f.write(HEADER + "\n")
        np.savetxt(f, notes, fmt="%d", delimiter=",")
