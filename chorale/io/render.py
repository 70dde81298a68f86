"""Turn a chorale grid into things people open: MIDI, CSV, audio, a piano-roll picture,
MusicXML and engraved sheet music.

`render_all` (behind `chorale render`, `generate`, `harmonize` and `Chorale.save`) writes
every format of `chorale.registry.FORMATS` from its writer here, and `check_outputs`
checks against that table. NumPy, matplotlib, music21 and mido are imported inside the
functions, so `chorale --help` stays fast.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

from chorale import ChoraleError, defaults
from chorale.io.files import atomic_path, atomic_write, check_output, final_outputs
from chorale.limits import MAX_AUDIO_SECONDS, MAX_SCORE_STEPS
from chorale.registry import FORMATS, Format, resolve

SOUNDFONTS = (  # Debian's fluid-soundfont-gm, its alternatives link, and the small timgm6mb
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
)
SAMPLE_RATE = 44100
MUSESCORE = ("mscore3", "mscore", "musescore3", "musescore")
VOICE_COLOURS = ("#D55E00", "#E69F00", "#009E73", "#0072B2")  # Okabe-Ito: colour-blind safe
ROLL_DPI = 100
ROLL_HEIGHT_INCHES = 6.0
ROLL_INCHES_PER_BAR = 0.5
ROLL_WIDTH_INCHES = (8.0, 32.0)  # narrowest and widest picture


@dataclass(frozen=True)
class Style:
    """How a grid is presented, whatever the format."""

    title: str = "Chorale"
    tempo: float = defaults.TEMPO
    program: int = defaults.PROGRAM  # General MIDI instrument, 0-based
    key: str | None = None  # the planned key ("D minor"); None: estimated from the notes
    fermatas: tuple[int, ...] = ()  # steps where a fermata chord starts


def render_all(grid, *, title: str = "Chorale", tempo: float | None = None, program: int | None = None,
               key: str | None = None, fermatas=(), force: bool = False, **paths) -> list[str]:
    """Write every requested output (`midi=`, `wav=`, ... one keyword per FORMATS row) and
    return one line per file saying what was written.

    Everything is checked before anything is written (file types, existing files unless
    `force`, output folders, MuseScore for sheet music, lengths within the limits), and
    each file is written atomically and, without `force`, only under a name still free,
    so a refused request leaves no file behind and never replaces another command's file.
    """
    from chorale.encoding import check_grid
    from chorale.io.midi import clean_title

    style = Style(clean_title(title), defaults.TEMPO if tempo is None else tempo,
                  defaults.PROGRAM if program is None else program, key, tuple(fermatas))
    grid = check_grid(grid)
    outputs = check_outputs(paths, force)
    check_lengths(outputs, len(grid), style.tempo)
    done = []
    with final_outputs(force):
        for fmt in FORMATS:
            if fmt.name in outputs:
                note = resolve(fmt.writer)(outputs[fmt.name], grid, style)
                done.append(f"{fmt.label}: {outputs[fmt.name]}" + (f" ({note})" if note else ""))
    return done


def format_for(path, name: str | None = None) -> Format:
    """The format named `name`, else the first whose suffixes hold `path`'s (.png: the piano roll)."""
    if name is not None:
        found = [f for f in FORMATS if f.name == name]
        if not found:
            raise ChoraleError(f"unknown format '{name}' (choose from {', '.join(f.name for f in FORMATS)})")
        return found[0]
    suffix = Path(path).suffix.lower()
    for fmt in FORMATS:
        if suffix in fmt.suffixes:
            return fmt
    known = sorted({s for f in FORMATS for s in f.suffixes})
    raise ChoraleError(f"{path}: unknown file type '{suffix}' (expected one of {', '.join(known)})")


def check_outputs(requested: dict, force: bool = False) -> dict[str, Path]:
    """The requested {format name: path} outputs, checked before any work is done: known
    file types, each its own file, no existing file unless `force`, writable folders,
    MuseScore for sheet music."""
    outputs = {name: Path(path) for name, path in requested.items() if path}
    seen: dict[str, str] = {}
    for name, path in outputs.items():
        same = seen.setdefault(os.path.realpath(path), name)
        if same != name:
            raise ChoraleError(f"{path}: given for both --{same} and --{name}; each output needs its own file")
        fmt = format_for(path, name)
        if path.suffix.lower() not in fmt.suffixes:
            raise ChoraleError(f"{path}: unknown {name} file type '{path.suffix}' (expected {', '.join(fmt.suffixes)})")
        check_output(path, force)
    if "sheet" in outputs and _musescore() is None:
        raise ChoraleError("sheet music needs MuseScore, which is not installed "
                           "(Debian/Ubuntu: apt-get install musescore3)")
    return outputs


def check_lengths(outputs: dict, steps: int, tempo: float) -> None:
    """Refuse, before writing anything, outputs whose size grows with the music beyond reason:
    audio longer than MAX_AUDIO_SECONDS (gigabytes of WAV), notation longer than MAX_SCORE_STEPS."""
    from chorale.encoding import STEPS_PER_BAR, STEPS_PER_QUARTER

    seconds = steps / STEPS_PER_QUARTER * 60 / tempo
    if "wav" in outputs and seconds > MAX_AUDIO_SECONDS:
        raise ChoraleError(f"{outputs['wav']}: {seconds / 60:.0f} minutes of audio at {tempo:g} BPM, more than the "
                           f"limit of {MAX_AUDIO_SECONDS // 60} minutes")
    for kind in ("musicxml", "sheet"):
        if kind in outputs and steps > MAX_SCORE_STEPS:
            raise ChoraleError(f"{outputs[kind]}: {steps // STEPS_PER_BAR:,} bars, more than the limit of "
                               f"{MAX_SCORE_STEPS // STEPS_PER_BAR:,} for notation")


# ---------------------------------------------------------------------------- audio
def _soundfont() -> str | None:
    return next((sf for sf in SOUNDFONTS if os.path.isfile(sf)), None)


def write_wav(path, grid, style: Style) -> str:
    """Render to a WAV file with FluidSynth and a General MIDI soundfont when installed, else
    with the built-in synthesizer; returns which one, for the user."""
    fluidsynth, soundfont = shutil.which("fluidsynth"), _soundfont()
    if fluidsynth and soundfont:
        _fluidsynth_wav(path, grid, style.tempo, style.program, fluidsynth, soundfont)
        return f"FluidSynth with {Path(soundfont).name}"
    with atomic_write(path, "wb") as f:
        _write_samples(f, synthesize(grid, tempo=style.tempo))
    missing = "fluidsynth" if not fluidsynth else "fluid-soundfont-gm"
    return f"built-in organ synthesizer; install {missing} for General MIDI instruments"


def _fluidsynth_wav(path, grid, tempo, program, fluidsynth, soundfont) -> None:
    from chorale.io.midi import write_midi

    with tempfile.TemporaryDirectory() as folder, atomic_path(path) as tmp:
        source = Path(folder) / "chorale.mid"
        write_midi(source, grid, tempo=tempo, program=program)
        command = [fluidsynth, "-ni", "-q", "-F", str(tmp), "-T", "wav", "-r", str(SAMPLE_RATE),
                   "-g", "1.0", soundfont, str(source)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if result.returncode != 0 or not tmp.stat().st_size:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise ChoraleError(f"{path}: FluidSynth failed ({detail[-1] if detail else f'exit {result.returncode}'})")


def synthesize(grid, *, tempo: float, sample_rate: int = SAMPLE_RATE):
    """A float32 mono signal in -1..1: each held note an organ-like tone (a few harmonics,
    soft attack and release), so a WAV can be made without any audio software."""
    import numpy as np

    from chorale.encoding import REST, STEPS_PER_QUARTER, check_grid, runs

    grid = check_grid(grid)
    samples_per_step = sample_rate * 60.0 / tempo / STEPS_PER_QUARTER
    signal = np.zeros(int(round(len(grid) * samples_per_step)) + 1, dtype=np.float64)
    ramp = int(0.015 * sample_rate)
    for voice in range(grid.shape[1]):
        for start, stop, pitch in runs(grid[:, voice]):
            if pitch == REST:
                continue
            first, last = int(round(start * samples_per_step)), int(round(stop * samples_per_step))
            t = np.arange(last - first) / sample_rate
            frequency = 440.0 * 2 ** ((pitch - 69) / 12)
            tone = sum(weight * np.sin(2 * np.pi * frequency * harmonic * t)
                       for harmonic, weight in ((1, 1.0), (2, 0.5), (3, 0.25), (4, 0.15)))
            envelope = np.minimum(1.0, np.minimum(np.arange(len(t)), len(t) - np.arange(len(t))) / ramp)
            signal[first:last] += tone * envelope
    peak = np.abs(signal).max()
    return (signal * (0.8 / peak) if peak > 0 else signal).astype(np.float32)


def _write_samples(f, signal, sample_rate: int = SAMPLE_RATE) -> None:
    """16-bit mono PCM WAV of a -1..1 signal into the binary file object `f`."""
    import numpy as np

    pcm = (np.clip(signal, -1, 1) * 32767).astype("<i2")
    with wave.open(f, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())


# ---------------------------------------------------------------------------- pictures
def piano_roll_size(steps: int) -> tuple[int, int]:
    """(width, height) in pixels of the piano roll of a chorale `steps` 16ths long: wide
    enough for every bar to stay legible, within reason."""
    from chorale.encoding import STEPS_PER_BAR

    low, high = ROLL_WIDTH_INCHES
    width = min(max(low, 2 + ROLL_INCHES_PER_BAR * steps / STEPS_PER_BAR), high)
    return round(width * ROLL_DPI), round(ROLL_HEIGHT_INCHES * ROLL_DPI)


def write_piano_roll(path, grid, style: Style) -> None:
    figure = piano_roll(grid, title=style.title, tempo=style.tempo, key=style.key, fermatas=style.fermatas)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")


def piano_roll(grid, *, title: str, tempo: float, key: str | None = None, fermatas=()):
    """A matplotlib Figure (not attached to pyplot): voices in four colours, bar lines, note
    names, fermatas (an arc over the chord), title with the key (`key`, else the estimated
    one) and tempo."""
    import numpy as np
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from music21 import pitch

    from chorale.encoding import REST, STEPS_PER_BAR, VOICES, check_grid, runs
    from chorale.keys import key_name, key_of

    grid = check_grid(grid)
    width, height = piano_roll_size(len(grid))
    figure = Figure(figsize=(width / ROLL_DPI, height / ROLL_DPI), dpi=ROLL_DPI)
    axes = figure.add_axes((0.06, 0.1, 0.92, 0.78))
    sung = grid[grid != REST]
    low, high = (int(sung.min()) - 2, int(sung.max()) + 3) if sung.size else (58, 70)
    for midi_pitch in range(low, high + 1):  # shade the black-key rows, as a keyboard does
        if pitch.Pitch(midi=midi_pitch).accidental is not None:
            axes.axhspan(midi_pitch - 0.5, midi_pitch + 0.5, color="#f0f0f0", zorder=0)
    beats = np.arange(0, len(grid) + 1, STEPS_PER_BAR // 4)  # one collection per kind: fast for long pieces
    bar_lines = beats % STEPS_PER_BAR == 0
    axes.vlines(beats[~bar_lines], 0, 1, transform=axes.get_xaxis_transform(), color="#dddddd", linewidth=0.5, zorder=1)
    axes.vlines(beats[bar_lines], 0, 1, transform=axes.get_xaxis_transform(), color="#888888", linewidth=1.0, zorder=1)
    for voice, (name, colour) in enumerate(zip(VOICES, VOICE_COLOURS)):
        notes = np.array([r for r in runs(grid[:, voice]) if r[2] != REST]).reshape(-1, 3)
        start, stop, low_edge, high_edge = notes[:, 0], notes[:, 1], notes[:, 2] - 0.4, notes[:, 2] + 0.4
        corners = np.stack([start, low_edge, start, high_edge, stop, high_edge, stop, low_edge], 1).reshape(-1, 4, 2)
        # one collection of rectangles per voice: barh makes an artist per note, minutes for long pieces
        axes.add_collection(PolyCollection(corners, facecolors=colour, edgecolors="black", linewidths=0.4,
                                           label=name.capitalize(), zorder=2))
    naturals = [p for p in range(low, high + 1) if pitch.Pitch(midi=p).accidental is None]
    axes.set_yticks(naturals, [pitch.Pitch(midi=p).nameWithOctave for p in naturals], fontsize=7)
    bar_starts = range(0, len(grid), STEPS_PER_BAR * -(-len(grid) // (STEPS_PER_BAR * 64)))  # at most 64 labels
    axes.set_xticks(bar_starts, [str(b // STEPS_PER_BAR + 1) for b in bar_starts], fontsize=8)
    axes.set_xlim(0, len(grid))
    axes.set_ylim(low - 0.5, high + 0.5)
    axes.set_xlabel("bar")
    for step in fermatas:  # the fermata sign over the chord: an arc and a dot
        axes.plot([step + 1], [high + 0.2], marker="$\\frown$", markersize=14, color="black", zorder=3)
        axes.plot([step + 1], [high - 0.4], marker=".", markersize=4, color="black", zorder=3)
    shown = key_of(grid, key)
    key_text = f"{key_name(*shown).replace('b ', '♭ ')}, " if shown is not None else ""
    axes.set_title(f"{title}\n{key_text}♩ = {tempo:g}", fontsize=11)
    figure.legend(loc="upper right", ncol=4, fontsize=8, frameon=False)
    return figure


# ---------------------------------------------------------------------------- notation
def write_musicxml(path, grid, style: Style) -> None:
    """MusicXML with four named parts (.mxl is written compressed)."""
    from chorale.io.musicxml import to_score

    score = to_score(grid, title=style.title, tempo=style.tempo, key=style.key, fermatas=style.fermatas)
    with atomic_path(path) as tmp:
        score.write("musicxml", fp=tmp)


def _musescore() -> str | None:
    return next((found for name in MUSESCORE if (found := shutil.which(name))), None)


SHEET_STAFF_MM = 5.6  # 40 tenths (a staff's height) in mm: 80% of music21's 7, so 16 bars fit one page


def write_sheet(path, grid, style: Style) -> str:
    """Engrave with MuseScore to PDF, or to PNG with the pages stacked into one picture. The
    staves are engraved at 80% of the usual size, so a 16-bar chorale fits on one page."""
    import re

    path, musescore = Path(path), _musescore()
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "score.musicxml", Path(folder) / f"score{path.suffix.lower()}"
        write_musicxml(source, grid, style)
        source.write_text(re.sub(r"<millimeters>[0-9.]+</millimeters>", f"<millimeters>{SHEET_STAFF_MM}</millimeters>",
                                 source.read_text(encoding="utf-8"), count=1), encoding="utf-8")
        command = [musescore, "-o", str(target), str(source)] + (["-r", "200"] if target.suffix == ".png" else [])
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
        pages = sorted(Path(folder).glob("score-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        made = pages if target.suffix == ".png" else [target] if target.is_file() else []
        if result.returncode != 0 or not made:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise ChoraleError(f"{path}: MuseScore failed ({detail[-1] if detail else f'exit {result.returncode}'})")
        with atomic_path(path) as tmp:
            if target.suffix == ".pdf":
                shutil.copyfile(target, tmp)
            else:
                import matplotlib.image
                import numpy as np

                matplotlib.image.imsave(tmp, np.vstack([matplotlib.image.imread(p) for p in pages]))
    return "MuseScore"


def write_midi(path, grid, style: Style) -> None:
    from chorale.io import midi

    midi.write_midi(path, grid, title=style.title, tempo=style.tempo, program=style.program, key=style.key)


def write_csv(path, grid, style: Style) -> None:
    from chorale.io.csvfile import write_csv as write_grid

    write_grid(path, grid)


PREVIEW_SAMPLE_RATE = 16000  # plenty for organ tones; a 16-bar preview stays near 2 MB in a notebook


def wav_bytes(grid, *, tempo: float = defaults.TEMPO, sample_rate: int = PREVIEW_SAMPLE_RATE) -> bytes:
    """The built-in synthesizer's WAV, in memory (for a notebook's or a web page's player)."""
    import io

    buffer = io.BytesIO()
    _write_samples(buffer, synthesize(grid, tempo=tempo, sample_rate=sample_rate), sample_rate)
    return buffer.getvalue()
