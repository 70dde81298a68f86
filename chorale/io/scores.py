"""Read any chorale file into the 16th-note grid: a JSB-style CSV, or the lines of a MIDI
or MusicXML file mapped to voices: by voice name when every voice is named, else four
single-note lines in order, else by pitch order at each step."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np

from chorale import ChoraleError
from chorale.encoding import MIDI_HIGH, MIDI_LOW, N_VOICES, REST, STEPS_PER_BAR, VOICES, runs
from chorale.io.csvfile import read_csv
from chorale.io.files import read_input
from chorale.io.lines import Line, where
from chorale.io.midi import MIDI_SUFFIXES, midi_lines
from chorale.io.musicxml import MUSICXML_SUFFIXES, musicxml_lines
from chorale.limits import MAX_MIDI_BYTES, MAX_MUSIC_BYTES, MAX_STEPS


def read_grid(path) -> np.ndarray:
    """A (steps, 4) pitch grid from a .mid/.midi, .musicxml/.xml/.mxl or JSB-style .csv file."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return read_csv(path)
    lines, steps, steps_per_bar = _read_lines(path)
    return _to_grid(lines, steps, steps_per_bar, path)


def read_melody(path, part: str | int | None = None, single_line: bool = False) -> np.ndarray:
    """One melodic line, (steps,) pitches with 0 for rests, e.g. for harmonizing.

    `part` picks a part or track by 0-based index or by name (case-insensitive prefix);
    by default the one named Soprano, else the first with notes. Where the line holds a
    chord, the top note is the melody, unless `single_line`: then a chord is an error
    (a caller that keeps every note of the line, such as harmonize, would drop some).
    """
    return _melody(path, part, single_line)[0]


def read_melody_with_fermatas(path, part: str | int | None = None) -> tuple[np.ndarray, tuple[int, ...]]:
    """`read_melody(path, part, single_line=True)` and the steps where its notes under a
    fermata start (MusicXML carries them; MIDI and CSV cannot: none)."""
    return _melody(path, part, True)


def _melody(path, part, single_line) -> tuple[np.ndarray, tuple[int, ...]]:
    """(the melody `read_melody` reads, its fermata steps)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        grid = read_csv(path)
        lines = [Line(v) for v in VOICES]
        for line, column in zip(lines, grid.T):
            for note in runs(column):
                if note[2] != REST:
                    line.add(note, note[0])
        steps, steps_per_bar = len(grid), STEPS_PER_BAR
    else:
        lines, steps, steps_per_bar = _read_lines(path)
    names = [line.name for line in lines]
    if part is None:
        with_notes = [line for line in lines if line.notes]
        if not with_notes:
            raise ChoraleError(f"{path}: no notes, only rests")
        chosen = next((line for line in with_notes if _voice_of(line.name) == "soprano"), with_notes[0])
    elif isinstance(part, int) or str(part).isdigit():
        if not 0 <= int(part) < len(lines):
            raise ChoraleError(f"{path}: no part {part}: it has {len(lines)} (0..{len(lines) - 1}: {', '.join(names)})")
        chosen = lines[int(part)]
    else:
        found = [line for line in lines if line.name.strip().lower().startswith(str(part).strip().lower())]
        if not found:
            raise ChoraleError(f"{path}: no part named '{part}' (it has: {', '.join(names)})")
        chosen = found[0]
    if single_line and not chosen.is_melodic():
        _refuse_chord(path, chosen, steps_per_bar)
    melody = np.zeros(steps, dtype=np.int32)
    for start, end, pitch in sorted(chosen.notes):  # of notes struck together the top one is written last
        melody[start:end] = pitch
    return melody, tuple(sorted(f for f in chosen.fermatas if f < steps))


def _refuse_chord(path: Path, line: Line, steps_per_bar: int) -> None:
    """Say why a line that should be melodic is not: a chord, or notes closer together than
    the 16th grid (tuplets, ornaments) that quantizing puts on one step."""
    onsets: dict[int, set] = {}
    for (start, _, _), onset in zip(line.notes, line.onsets):
        onsets.setdefault(start, set()).add(onset)
    step = min(start for start, count in Counter(n[0] for n in line.notes).items() if count > 1)
    if len(onsets[step]) > 1:
        raise ChoraleError(f"{path}: notes closer together than a 16th (tuplets or ornaments) fall on one step "
                           f"at {where(step, steps_per_bar)}; the grid holds 16th notes, so simplify the rhythm")
    raise ChoraleError(f"{path}: the melody has a chord at {where(step, steps_per_bar)}; "
                       "it needs a single line (pick one part with --part)")


def _read_lines(path: Path):
    """(lines, steps, steps per bar) from a MIDI or MusicXML file with at least one note."""
    suffix = path.suffix.lower()
    if suffix not in MIDI_SUFFIXES + MUSICXML_SUFFIXES:
        shown = f"'{suffix}'" if suffix else "(no file name extension)"
        raise ChoraleError(f"{path}: unknown file type {shown}: expected .mid, .midi, .musicxml, .xml, .mxl or .csv")
    data = read_input(path, MAX_MIDI_BYTES if suffix in MIDI_SUFFIXES else MAX_MUSIC_BYTES, "chorale")
    lines, steps, steps_per_bar = (midi_lines if suffix in MIDI_SUFFIXES else musicxml_lines)(path, data)
    if not any(line.notes for line in lines):
        raise ChoraleError(f"{path}: no pitched notes (drums are ignored)")
    if steps > MAX_STEPS:
        raise ChoraleError(f"{path}: {steps:,} sixteenth notes long, more than the limit of {MAX_STEPS:,}")
    for line in lines:
        for start, end, pitch in line.notes:
            if start < 0 or end <= start:
                raise ChoraleError(f"{path}: a note at 16th step {start} has a negative time or length")
            if not MIDI_LOW <= pitch <= MIDI_HIGH:
                raise ChoraleError(f"{path}: pitch {pitch} at {where(start, steps_per_bar)} is outside "
                                   f"the range {MIDI_LOW}..{MIDI_HIGH}")
    return lines, steps, steps_per_bar


def _voice_of(name: str) -> str | None:
    match = re.match(r"(soprano|alto|tenor|bass)\b", name.strip().lower())
    return match.group(1) if match else None


def _to_grid(lines: list[Line], steps: int, steps_per_bar: int, path: Path) -> np.ndarray:
    """Map lines to voices: by name, else four melodic lines in order, else by pitch order."""
    named = {voice: [line for line in lines if _voice_of(line.name) == voice] for voice in VOICES}
    if all(len(found) == 1 and found[0].is_melodic() for found in named.values()):
        return _stack([named[voice][0] for voice in VOICES], steps)
    if len(lines) == N_VOICES and all(line.is_melodic() for line in lines):
        return _stack(lines, steps)
    notes = [note for line in lines for note in line.notes]
    counts = np.zeros(steps + 1, dtype=np.int64)  # notes sounding at each step, before listing them
    np.add.at(counts, [n[0] for n in notes], 1)
    np.add.at(counts, [n[1] for n in notes], -1)
    counts = np.cumsum(counts)[:steps]
    if (counts > N_VOICES).any():
        step = int(np.argmax(counts > N_VOICES))
        raise ChoraleError(f"{path}: {counts[step]} notes sound at once at {where(step, steps_per_bar)}; "
                           f"a chorale has at most {N_VOICES}")
    sounding = [[] for _ in range(steps)]
    for start, end, pitch in notes:  # at most N_VOICES per step: linear in the grid's size
        for step in range(start, end):
            sounding[step].append(pitch)
    grid = np.zeros((steps, N_VOICES), dtype=np.int32)
    for step, pitches in enumerate(sounding):
        pitches.sort(reverse=True)
        grid[step, _voice_slots(len(pitches), grid[step - 1])] = pitches  # grid[-1] is still 0 at step 0
    return grid


def _voice_slots(count: int, previous: np.ndarray) -> list[int]:
    """Which voices `count` notes (high to low) go to: the top note is the soprano, the
    lowest the bass; a lone middle note joins alto or tenor, whichever sang last."""
    if count == 3:
        return [0, 2 if previous[1] == REST and previous[2] != REST else 1, 3]
    return {0: [], 1: [0], 2: [0, 3], 4: [0, 1, 2, 3]}[count]


def _stack(lines: list[Line], steps: int) -> np.ndarray:
    """One voice per melodic line; a note that overlaps the next (legato) ends where it starts."""
    grid = np.zeros((steps, N_VOICES), dtype=np.int32)
    for voice, line in enumerate(lines):
        for start, end, pitch in sorted(line.notes):
            grid[start:end, voice] = pitch
    return grid
