"""Chorale grids to and from Standard MIDI Files, MusicXML and CSV.

Export writes what every player, DAW and notation program accepts: a type 1 file at 480
ticks per quarter, a conductor track (title, tempo, 4/4, estimated key) and one named
track per voice on its own channel. Consecutive equal pitches in a voice become one held
note, because the grid cannot tell a held note from a re-struck one; so grid -> MIDI ->
grid is exact.

Import turns any file into "lines" (one per MIDI track and channel, or per MusicXML
part) of quantized notes, then maps lines to voices: by voice name when every voice is
named, else four single-note lines in order, else by pitch order at each step.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import mido
import numpy as np

from chorale import ChoraleError, defaults
from chorale.data.loader import read_csv
from chorale.encoding import (MIDI_HIGH, MIDI_LOW, N_VOICES, REST, STEPS_PER_BAR, STEPS_PER_QUARTER, VOICES,
                              check_grid, runs)
from chorale.io.files import atomic_write

TICKS_PER_QUARTER = 480
TICKS_PER_STEP = TICKS_PER_QUARTER // STEPS_PER_QUARTER
DEFAULT_TEMPO = defaults.TEMPO
DEFAULT_PROGRAM = defaults.PROGRAM
DEFAULT_VELOCITIES = (90, 72, 72, 82)  # melody and bass a little above the inner voices
DRUM_CHANNEL = 9
MAX_FILE_BYTES = 5_000_000  # a chorale is a few kB; refuse anything absurd before parsing
MAX_STEPS = 100_000  # about 1.5 hours at 72 BPM

MIDI_SUFFIXES = (".mid", ".midi")
MUSICXML_SUFFIXES = (".musicxml", ".xml", ".mxl")

GM_PROGRAMS = (
    "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano",
    "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavinet", "Celesta", "Glockenspiel",
    "Music Box", "Vibraphone", "Marimba", "Xylophone", "Tubular Bells", "Dulcimer",
    "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ", "Reed Organ", "Accordion",
    "Harmonica", "Tango Accordion", "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)",
    "Electric Guitar (jazz)", "Electric Guitar (clean)", "Electric Guitar (muted)",
    "Overdriven Guitar", "Distortion Guitar", "Guitar Harmonics", "Acoustic Bass",
    "Electric Bass (finger)", "Electric Bass (pick)", "Fretless Bass", "Slap Bass 1",
    "Slap Bass 2", "Synth Bass 1", "Synth Bass 2", "Violin", "Viola", "Cello", "Contrabass",
    "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp", "Timpani", "String Ensemble 1",
    "String Ensemble 2", "Synth Strings 1", "Synth Strings 2", "Choir Aahs", "Voice Oohs",
    "Synth Voice", "Orchestra Hit", "Trumpet", "Trombone", "Tuba", "Muted Trumpet",
    "French Horn", "Brass Section", "Synth Brass 1", "Synth Brass 2", "Soprano Sax", "Alto Sax",
    "Tenor Sax", "Baritone Sax", "Oboe", "English Horn", "Bassoon", "Clarinet", "Piccolo",
    "Flute", "Recorder", "Pan Flute", "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina",
    "Lead 1 (square)", "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)",
    "Lead 5 (charang)", "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)",
    "Pad 1 (new age)", "Pad 2 (warm)", "Pad 3 (polysynth)", "Pad 4 (choir)", "Pad 5 (bowed)",
    "Pad 6 (metallic)", "Pad 7 (halo)", "Pad 8 (sweep)", "FX 1 (rain)", "FX 2 (soundtrack)",
    "FX 3 (crystal)", "FX 4 (atmosphere)", "FX 5 (brightness)", "FX 6 (goblins)",
    "FX 7 (echoes)", "FX 8 (sci-fi)", "Sitar", "Banjo", "Shamisen", "Koto", "Kalimba",
    "Bagpipe", "Fiddle", "Shanai", "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock",
    "Taiko Drum", "Melodic Tom", "Synth Drum", "Reverse Cymbal", "Guitar Fret Noise",
    "Breath Noise", "Seashore", "Bird Tweet", "Telephone Ring", "Helicopter", "Applause",
    "Gunshot",
)


# ---------------------------------------------------------------------------- instruments
def _normalized(name: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", name.lower()).split())


def program_number(instrument: str | int) -> int:
    """0-based General MIDI program for a name ("choir aahs", case-insensitive, any unique
    part of a name such as "church") or a number 1-128 as printed in the General MIDI chart."""
    text = str(instrument).strip()
    if text.isdigit():
        if not 1 <= int(text) <= 128:
            raise ChoraleError(f"instrument number {text} is not a General MIDI program 1-128")
        return int(text) - 1
    wanted = _normalized(text)
    names = [_normalized(n) for n in GM_PROGRAMS]
    if wanted in names:
        return names.index(wanted)
    matches = [i for i, n in enumerate(names) if wanted and wanted in n]
    if len(matches) == 1:
        return matches[0]
    if matches:
        listed = ", ".join(GM_PROGRAMS[i].lower() for i in matches)
        raise ChoraleError(f"instrument '{text}' is ambiguous: it could be {listed}")
    raise ChoraleError(
        f"unknown instrument '{text}': give a General MIDI name such as church organ, "
        "choir aahs, string ensemble 1, acoustic grand piano, flute, or a number 1-128"
    )


# ---------------------------------------------------------------------------- export
def estimate_key(grid):
    """The music21 Key that best fits the notes (Krumhansl-Schmuckler, weighted by duration)."""
    from music21.key import Key

    found = _score(check_grid(grid), None).analyze("key")
    return Key(found.tonic.name, found.mode)  # the analysis' tonic re-infers its spelling when transposed


def music21_key(grid, key: str | None = None):
    """The music21 Key to write: `key` ("D minor", "Bb major") when the piece was planned in
    one, else the estimate; None for a piece of rests."""
    from music21.key import Key

    if key is not None:
        tonic, mode = key.split()
        return Key(tonic[0] + tonic[1:].replace("b", "-"), mode)
    return estimate_key(grid) if (np.asarray(grid) != REST).any() else None


def _mido_key_name(key) -> str:
    """mido's name ("Eb", "F#m") for a music21 Key, folded into the seven sharps/flats MIDI allows."""
    from music21.key import KeySignature

    sharps = key.sharps - 12 if key.sharps > 7 else key.sharps + 12 if key.sharps < -7 else key.sharps
    folded = KeySignature(sharps).asKey(key.mode)
    return folded.tonic.name.replace("-", "b") + ("m" if key.mode == "minor" else "")


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
        mido.MetaMessage("track_name", name=title),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo)),
        mido.MetaMessage("time_signature", numerator=4, denominator=4),
    ]
    signature = music21_key(grid, key)
    if signature is not None:
        conductor.append(mido.MetaMessage("key_signature", key=_mido_key_name(signature)))
    midi.tracks.append(_track(conductor, []))
    for voice, (name, velocity) in enumerate(zip(VOICES, velocities)):
        events = []  # (absolute tick, message); note-offs sort before note-ons at the same tick
        for start, stop, pitch in runs(grid[:, voice]):
            if pitch != REST:
                events.append((start * TICKS_PER_STEP, 1, mido.Message("note_on", channel=voice, note=pitch, velocity=velocity)))
                events.append((stop * TICKS_PER_STEP, 0, mido.Message("note_off", channel=voice, note=pitch, velocity=64)))
        header = [mido.MetaMessage("track_name", name=name.capitalize()),
                  mido.Message("program_change", channel=voice, program=program)]
        midi.tracks.append(_track(header, sorted(events, key=lambda e: e[:2]), end))
    midi.tracks[0][-1].time = end  # the conductor also ends with the music, keeping trailing rests
    return midi


def _track(header, events, end: int = 0) -> mido.MidiTrack:
    """A track from time-0 messages and (absolute tick, order, message) events, ended at `end`."""
    track = mido.MidiTrack(header)
    now = 0
    for tick, _, message in events:
        track.append(message.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(end - now, 0)))
    return track


def write_midi(path, grid, **options) -> None:
    """Write `grid` as a Standard MIDI File, atomically (options as for `to_midi`)."""
    midi = to_midi(grid, **options)
    with atomic_write(path, "wb") as f:
        midi.save(file=f)


def to_score(grid, *, title: str = "Chorale", tempo: float = DEFAULT_TEMPO, key: str | None = None,
             fermatas=()):
    """A music21 Score in 4/4 with four named parts, pitches spelled for `key` (else the
    estimated key), a fermata over every voice's note at each of `fermatas` (steps)."""
    from music21 import metadata, tempo as m21tempo

    from chorale import __version__

    grid = check_grid(grid)
    score = _score(grid, music21_key(grid, key), fermatas)
    score.insert(0, metadata.Metadata(title=title))
    # Any contributor stops music21 from printing "Music21" as the composer.
    score.metadata.addContributor(metadata.Contributor(role="transcriber", name=f"chorale {__version__}"))
    score.parts[0].insert(0, m21tempo.MetronomeMark(number=tempo, referent="quarter"))
    return score.makeNotation()


def _score(grid: np.ndarray, key, fermatas=()):
    """Four parts of notes and rests, not yet cut into measures; `key` None leaves pitches
    unspelled (estimating the key needs this score first)."""
    from music21 import clef, expressions, instrument, meter, note, pitch, stream

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
                    else note.Note(_spelled(pitch.Pitch(midi=midi_pitch), key), quarterLength=length))
            if any(start <= f < stop for f in fermatas):
                sung.expressions.append(expressions.Fermata())
            part.append(sung)
        score.insert(0, part)
    return score


def _spelled(p, key):
    """The spelling a musician expects in `key`: a scale degree (with the minor's raised 6th
    and 7th) if the pitch is one, else sharps in sharp keys and flats in flat keys."""
    if key is None:
        return p
    degrees = {q.name for q in key.getScale().getPitches()}
    if key.mode == "minor":
        degrees |= {key.tonic.transpose("M6").name, key.tonic.transpose("M7").name}
    for candidate in (p, *p.getAllCommonEnharmonics(alterLimit=1)):
        if candidate.name in degrees:
            return candidate
    uses_flat = p.accidental is not None and p.accidental.alter < 0
    return p.getEnharmonic() if uses_flat != (key.sharps < 0) and p.accidental is not None else p


# ---------------------------------------------------------------------------- import
@dataclass
class _Line:
    """One source line (a MIDI track/channel or a MusicXML part): quantized (start, end, pitch) notes."""

    name: str
    notes: list[tuple[int, int, int]] = field(default_factory=list)
    fermatas: set[int] = field(default_factory=set)  # steps where a note under a fermata starts (MusicXML)

    def is_melodic(self) -> bool:
        starts = [n[0] for n in self.notes]
        return len(starts) == len(set(starts))


def _where(step: int, steps_per_bar: int) -> str:
    bar, rest = divmod(step, steps_per_bar)
    return f"bar {bar + 1}, beat {rest // STEPS_PER_QUARTER + 1} (16th step {step})"


def read_title(path) -> str | None:
    """The title a MIDI file carries (its first track's name, as `to_midi` writes it), if any."""
    path = Path(path)
    if path.suffix.lower() not in MIDI_SUFFIXES:
        return None
    try:
        first = mido.MidiFile(path).tracks[0]
    except (OSError, ValueError, EOFError, IndexError, KeyError):  # read_grid says what is wrong
        return None
    return next((m.name.strip() for m in first if m.type == "track_name" and m.name.strip()), None)


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
        lines = [_Line(v, [(s, e, p) for s, e, p in runs(grid[:, i]) if p != REST]) for i, v in enumerate(VOICES)]
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
        chord = min(start for start, count in Counter(n[0] for n in chosen.notes).items() if count > 1)
        raise ChoraleError(f"{path}: the melody has a chord at {_where(chord, steps_per_bar)}; "
                           "it needs a single line (pick one part with --part)")
    melody = np.zeros(steps, dtype=np.int32)
    for start, end, pitch in sorted(chosen.notes):  # of notes struck together the top one is written last
        melody[start:end] = pitch
    return melody, tuple(sorted(f for f in chosen.fermatas if f < steps))


def _read_lines(path: Path):
    """(lines, steps, steps per bar) from a MIDI or MusicXML file with at least one note."""
    suffix = path.suffix.lower()
    if suffix not in MIDI_SUFFIXES + MUSICXML_SUFFIXES:
        raise ChoraleError(f"{path}: unknown file type '{suffix}': expected .mid, .midi, .musicxml, .xml, .mxl or .csv")
    try:
        size = path.stat().st_size
    except OSError as e:
        raise ChoraleError(f"{path}: cannot read ({e.strerror})") from None
    if size > MAX_FILE_BYTES:
        raise ChoraleError(f"{path}: {size:,} bytes is too large for a chorale (limit {MAX_FILE_BYTES:,})")
    lines, steps, steps_per_bar = (_midi_lines if suffix in MIDI_SUFFIXES else _musicxml_lines)(path)
    if not any(line.notes for line in lines):
        raise ChoraleError(f"{path}: no pitched notes (drums are ignored)")
    if steps > MAX_STEPS:
        raise ChoraleError(f"{path}: {steps:,} sixteenth notes long, more than the limit of {MAX_STEPS:,}")
    for line in lines:
        for start, _, pitch in line.notes:
            if not MIDI_LOW <= pitch <= MIDI_HIGH:
                raise ChoraleError(f"{path}: pitch {pitch} at {_where(start, steps_per_bar)} is outside "
                                   f"the range {MIDI_LOW}..{MIDI_HIGH}")
    return lines, steps, steps_per_bar


def _midi_lines(path: Path):
    data = path.read_bytes()
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
    lines: dict[tuple[int, int], _Line] = {}
    end_tick, steps_per_bar = 0, None
    for index, track in enumerate(midi.tracks):
        now, sounding = 0, {}
        for message in track:
            now += message.time
            if message.type == "time_signature" and steps_per_bar is None:
                steps_per_bar = round(message.numerator * 4 * STEPS_PER_QUARTER / message.denominator)
            if not hasattr(message, "channel") or message.channel == DRUM_CHANNEL:
                continue
            line = lines.setdefault((index, message.channel), _Line(track.name or f"track {index}"))
            if message.type == "note_on" and message.velocity > 0:
                sounding.setdefault((message.channel, message.note), []).append(now)
            elif message.type in ("note_on", "note_off") and sounding.get((message.channel, message.note)):
                start = sounding[message.channel, message.note].pop(0)
                line.notes.append(_quantized(start, now, message.note, per_step))
        for (channel, note), starts in sounding.items():  # notes never released end with the track
            lines[index, channel].notes.extend(_quantized(s, now, note, per_step) for s in starts)
        end_tick = max(end_tick, now)
    steps = max([round(end_tick / per_step)] + [n[1] for line in lines.values() for n in line.notes])
    return list(lines.values()), steps, steps_per_bar or STEPS_PER_BAR


def _quantized(start_tick: int, end_tick: int, pitch: int, per_step: float):
    """A note snapped to the 16th grid; a note shorter than a 16th still lasts one step."""
    start = round(start_tick / per_step)
    return start, max(round(end_tick / per_step), start + 1), pitch


def _musicxml_lines(path: Path):
    from music21 import converter, expressions, meter, stream

    try:
        score = converter.parse(path, format="musicxml")
    except Exception as e:  # music21 raises many kinds on bad XML or non-music
        reason = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise ChoraleError(f"{path}: not readable MusicXML ({reason})") from None
    parts = list(score.parts) if isinstance(score, stream.Score) else [score]
    lines = []
    for index, part in enumerate(parts):
        line = _Line((part.partName or f"part {index}").strip())
        for n in part.stripTies().flatten().notes:
            start = round(float(n.offset) * STEPS_PER_QUARTER)
            end = max(round(float(n.offset + n.quarterLength) * STEPS_PER_QUARTER), start + 1)
            if n.quarterLength > 0:  # grace notes take no time in the grid
                line.notes.extend((start, end, p.midi) for p in n.pitches)
                if any(isinstance(e, expressions.Fermata) for e in n.expressions):
                    line.fermatas.add(start)
        lines.append(line)
    signatures = score.recurse().getElementsByClass(meter.TimeSignature)
    steps_per_bar = round(signatures[0].barDuration.quarterLength * STEPS_PER_QUARTER) if signatures else STEPS_PER_BAR
    steps = max([round(float(score.highestTime) * STEPS_PER_QUARTER)] + [n[1] for line in lines for n in line.notes])
    return lines, steps, steps_per_bar


def _voice_of(name: str) -> str | None:
    match = re.match(r"(soprano|alto|tenor|bass)\b", name.strip().lower())
    return match.group(1) if match else None


def _to_grid(lines: list[_Line], steps: int, steps_per_bar: int, path: Path) -> np.ndarray:
    """Map lines to voices: by name, else four melodic lines in order, else by pitch order."""
    named = {voice: [line for line in lines if _voice_of(line.name) == voice] for voice in VOICES}
    if all(len(found) == 1 and found[0].is_melodic() for found in named.values()):
        return _stack([named[voice][0] for voice in VOICES], steps)
    if len(lines) == N_VOICES and all(line.is_melodic() for line in lines):
        return _stack(lines, steps)
    sounding = [[] for _ in range(steps)]
    for line in lines:
        for start, end, pitch in line.notes:
            for step in range(start, end):
                sounding[step].append(pitch)
    grid = np.zeros((steps, N_VOICES), dtype=np.int32)
    for step, pitches in enumerate(sounding):
        if len(pitches) > N_VOICES:
            raise ChoraleError(f"{path}: {len(pitches)} notes sound at once at {_where(step, steps_per_bar)}; "
                               f"a chorale has at most {N_VOICES}")
        pitches.sort(reverse=True)
        grid[step, _voice_slots(len(pitches), grid[step - 1])] = pitches  # grid[-1] is still 0 at step 0
    return grid


def _voice_slots(count: int, previous: np.ndarray) -> list[int]:
    """Which voices `count` notes (high to low) go to: the top note is the soprano, the
    lowest the bass; a lone middle note joins alto or tenor, whichever sang last."""
    if count == 3:
        return [0, 2 if previous[1] == REST and previous[2] != REST else 1, 3]
    return {0: [], 1: [0], 2: [0, 3], 4: [0, 1, 2, 3]}[count]


def _stack(lines: list[_Line], steps: int) -> np.ndarray:
    """One voice per melodic line; a note that overlaps the next (legato) ends where it starts."""
    grid = np.zeros((steps, N_VOICES), dtype=np.int32)
    for voice, line in enumerate(lines):
        for start, end, pitch in sorted(line.notes):
            grid[start:end, voice] = pitch
    return grid


