"""Chorale grids to and from Standard MIDI Files.

Export writes what every player, DAW and notation program accepts: a type 1 file at 480
ticks per quarter, a conductor track (title, tempo, 4/4, the key) and one named track
per voice on its own channel. Consecutive equal pitches in a voice become one held note,
because the grid cannot tell a held note from a re-struck one; so grid -> MIDI -> grid is
exact. Import reads a file's tracks and channels as lines (chorale.io.lines), which
chorale.io.scores maps to voices.
"""

from __future__ import annotations

import io
import unicodedata
from collections import deque
from pathlib import Path

import mido

from chorale import ChoraleError, defaults
from chorale.encoding import REST, STEPS_PER_BAR, STEPS_PER_QUARTER, VOICES, check_grid, runs
from chorale.io.files import atomic_write, read_input
from chorale.io.lines import Line, quantized
from chorale.keys import key_of, mido_key
from chorale.limits import MAX_MIDI_BYTES

TICKS_PER_QUARTER = 480
TICKS_PER_STEP = TICKS_PER_QUARTER // STEPS_PER_QUARTER
DEFAULT_TEMPO = defaults.TEMPO
DEFAULT_PROGRAM = defaults.PROGRAM
DEFAULT_VELOCITIES = (90, 72, 72, 82)  # melody and bass a little above the inner voices
DRUM_CHANNEL = 9
MIDI_SUFFIXES = (".mid", ".midi")


# ---------------------------------------------------------------------------- titles
def clean_title(title: str) -> str:
    """The title every output can store: control characters (which XML 1.0 cannot hold,
    so MusicXML would not read back) become spaces, and undecodable bytes of a file name
    (lone surrogates) become U+FFFD."""
    kept = (" " if unicodedata.category(c) == "Cc" or c in "\ufffe\uffff" else
            "\ufffd" if unicodedata.category(c) == "Cs" else c for c in str(title))
    return " ".join("".join(kept).split()) or "Chorale"


def midi_text(title: str) -> str:
    """The title as a MIDI track name, which holds Latin-1 (what mido writes and players
    read): a character outside Latin-1 becomes its unaccented letter when it has one
    (ő -> o), else '?'. MusicXML, the piano roll and the sheet keep the full title."""
    def latin1(c: str) -> str:
        if ord(c) < 256:
            return c
        base = "".join(d for d in unicodedata.normalize("NFKD", c) if not unicodedata.combining(d))
        return base if base and all(ord(d) < 256 for d in base) else "?"
    return "".join(map(latin1, clean_title(title)))


# ---------------------------------------------------------------------------- export
def to_midi(grid, *, title: str = "Chorale", tempo: float = DEFAULT_TEMPO, program: int = DEFAULT_PROGRAM,
            key: str | None = None, velocities=DEFAULT_VELOCITIES) -> mido.MidiFile:
    """A type 1 MidiFile: conductor track (title, tempo, 4/4, `key` or the estimated one),
    then Soprano, Alto, Tenor, Bass on channels 1-4."""
    grid = check_grid(grid)
    if not 0 <= program <= 127:
        raise ChoraleError(f"General MIDI program {program} is not in 0..127")
    end = len(grid) * TICKS_PER_STEP
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_QUARTER)
    conductor = [
        mido.MetaMessage("track_name", name=midi_text(title)),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo)),
        mido.MetaMessage("time_signature", numerator=4, denominator=4),
    ]
    found = key_of(grid, key)
    if found is not None:
        conductor.append(mido.MetaMessage("key_signature", key=mido_key(*found)))
    midi.tracks.append(_track(conductor, []))
    for voice, (name, velocity) in enumerate(zip(VOICES, velocities)):
        events = []  # (absolute tick, order, message fields); note-offs sort before note-ons at the same tick
        for start, stop, pitch in runs(grid[:, voice]):
            if pitch != REST:
                events.append((start * TICKS_PER_STEP, 1, dict(type="note_on", channel=voice, note=pitch, velocity=velocity)))
                events.append((stop * TICKS_PER_STEP, 0, dict(type="note_off", channel=voice, note=pitch, velocity=64)))
        header = [mido.MetaMessage("track_name", name=name.capitalize()),
                  mido.Message("program_change", channel=voice, program=program)]
        midi.tracks.append(_track(header, sorted(events, key=lambda e: e[:2]), end))
    midi.tracks[0][-1].time = end  # the conductor also ends with the music, keeping trailing rests
    return midi


def _track(header, events, end: int = 0) -> mido.MidiTrack:
    """A track from time-0 messages and (absolute tick, order, message fields) events, ended
    at `end`; each message is made once, with its delta time (mido checks every field it is given)."""
    track = mido.MidiTrack(header)
    now = 0
    for tick, _, fields in events:
        track.append(mido.Message(**fields, time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(end - now, 0)))
    return track


def write_midi(path, grid, **options) -> None:
    """Write `grid` as a Standard MIDI File, atomically (options as for `to_midi`)."""
    midi = to_midi(grid, **options)
    with atomic_write(path, "wb") as f:
        midi.save(file=f)


# ---------------------------------------------------------------------------- import
def read_title(path) -> str | None:
    """The title a MIDI file carries (its first track's name, as `to_midi` writes it), if any."""
    path = Path(path)
    if path.suffix.lower() not in MIDI_SUFFIXES:
        return None
    try:
        first = mido.MidiFile(file=io.BytesIO(read_input(path, MAX_MIDI_BYTES, "MIDI file"))).tracks[0]
    except (ChoraleError, OSError, ValueError, EOFError, IndexError, KeyError):  # read_grid says what is wrong
        return None
    return next((m.name.strip() for m in first if m.type == "track_name" and m.name.strip()), None)


def midi_lines(path: Path, data: bytes):
    """Lines from MIDI bytes, in one pass over the messages (linear in the file's size)."""
    if not data.startswith(b"MThd"):
        raise ChoraleError(f"{path}: not a Standard MIDI File (no MThd header)")
    try:
        midi = mido.MidiFile(file=io.BytesIO(data))
    except EOFError:
        raise ChoraleError(f"{path}: truncated MIDI file") from None
    except Exception as e:  # mido's parser raises many kinds on corrupt bytes
        raise ChoraleError(f"{path}: corrupt MIDI file ({e})") from None
    if midi.type == 2:
        raise ChoraleError(f"{path}: MIDI type 2 (independent patterns) is not supported; use type 0 or 1")
    if not 0 < midi.ticks_per_beat < 0x8000:
        raise ChoraleError(f"{path}: unsupported MIDI time division {midi.ticks_per_beat} (SMPTE time)")
    per_step = midi.ticks_per_beat / STEPS_PER_QUARTER
    lines: dict[tuple[int, int], Line] = {}
    end_tick, steps_per_bar = 0, None
    for index, track in enumerate(midi.tracks):
        name = track.name or f"track {index}"  # a property that scans the track: once, not per message
        now, sounding = 0, {}
        for message in track:
            now += message.time
            if message.type == "time_signature" and steps_per_bar is None:
                steps_per_bar = max(round(message.numerator * 4 * STEPS_PER_QUARTER / message.denominator), 1)
            if not hasattr(message, "channel") or message.channel == DRUM_CHANNEL:
                continue
            line = lines.setdefault((index, message.channel), Line(name))
            if message.type == "note_on" and message.velocity > 0:
                sounding.setdefault((message.channel, message.note), deque()).append(now)
            elif message.type in ("note_on", "note_off") and sounding.get((message.channel, message.note)):
                start = sounding[message.channel, message.note].popleft()
                line.add(quantized(start, now, message.note, per_step), start)
        for (channel, note), starts in sounding.items():  # notes never released end with the track
            for start in starts:
                lines[index, channel].add(quantized(start, now, note, per_step), start)
        end_tick = max(end_tick, now)
    steps = max([round(end_tick / per_step)] + [n[1] for line in lines.values() for n in line.notes])
    return list(lines.values()), steps, steps_per_bar or STEPS_PER_BAR
