"""Turn a chorale grid into things people open: audio, a piano-roll picture, MusicXML and
engraved sheet music.

`render_all` is the one code path for `chorale render` and `chorale generate`, and
`render_options` the click options both commands share. NumPy, matplotlib, music21 and
mido are imported inside the functions: the CLI imports this module to build its options,
and `chorale --help` must stay fast.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import click

from chorale import ChoraleError
from chorale.io.files import atomic_path, atomic_write, check_output, final_outputs
from chorale.limits import MAX_AUDIO_SECONDS, MAX_SCORE_STEPS

SOUNDFONTS = (  # Debian's fluid-soundfont-gm, its alternatives link, and the small timgm6mb
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
)
SAMPLE_RATE = 44100
MUSESCORE = ("mscore3", "mscore", "musescore3", "musescore")
SUFFIXES = {
    "midi": (".mid", ".midi"),
    "csv": (".csv",),
    "wav": (".wav",),
    "png": (".png",),
    "musicxml": (".musicxml", ".xml", ".mxl"),
    "sheet": (".pdf", ".png"),
}
VOICE_COLOURS = ("#D55E00", "#E69F00", "#009E73", "#0072B2")  # Okabe-Ito: colour-blind safe
ROLL_DPI = 100
ROLL_HEIGHT_INCHES = 6.0
ROLL_INCHES_PER_BAR = 0.5
ROLL_WIDTH_INCHES = (8.0, 32.0)  # narrowest and widest picture


def render_all(grid, *, wav=None, png=None, musicxml=None, sheet=None, midi=None, csv=None,
               title: str = "Chorale", tempo: float | None = None, program: int | None = None,
               force: bool = False) -> list[str]:
    """Write every requested output and return one line per file saying what was written.

    Everything is checked before anything is written (file types, existing files unless
    `force`, output folders, MuseScore for sheet music, lengths within the limits), and
    each file is written atomically and, without `force`, only under a name still free,
    so a refused request leaves no file behind and never replaces another command's file.
    """
    from chorale.io import midi as midi_io

    tempo = midi_io.DEFAULT_TEMPO if tempo is None else tempo
    program = midi_io.DEFAULT_PROGRAM if program is None else program
    grid = midi_io.check_grid(grid)
    title = midi_io.clean_title(title)
    outputs = check_outputs(dict(midi=midi, csv=csv, wav=wav, png=png, musicxml=musicxml, sheet=sheet), force)
    _check_lengths(outputs, len(grid), tempo)
    musescore = _musescore() if "sheet" in outputs else None
    with final_outputs(force):
        return _write_all(outputs, grid, title, tempo, program, musescore)


def _write_all(outputs, grid, title, tempo, program, musescore) -> list[str]:
    from chorale.io import midi as midi_io
    from chorale.data.loader import write_csv

    done = []
    if "midi" in outputs:
        midi_io.write_midi(outputs["midi"], grid, title=title, tempo=tempo, program=program)
        done.append(f"MIDI: {outputs['midi']}")
    if "csv" in outputs:
        write_csv(outputs["csv"], grid)
        done.append(f"CSV: {outputs['csv']}")
    if "wav" in outputs:
        how = write_wav(outputs["wav"], grid, tempo=tempo, program=program)
        done.append(f"WAV: {outputs['wav']} ({how})")
    if "png" in outputs:
        write_piano_roll(outputs["png"], grid, title=title, tempo=tempo)
        done.append(f"Piano roll: {outputs['png']}")
    if "musicxml" in outputs:
        write_musicxml(outputs["musicxml"], grid, title=title, tempo=tempo)
        done.append(f"MusicXML: {outputs['musicxml']}")
    if "sheet" in outputs:
        write_sheet(outputs["sheet"], grid, title=title, tempo=tempo, musescore=musescore)
        done.append(f"Sheet music: {outputs['sheet']} (MuseScore)")
    return done


def check_outputs(requested: dict, force: bool = False) -> dict[str, Path]:
    """The requested {kind: path} outputs, checked before any work is done: known file
    types, no existing file unless `force`, writable folders, MuseScore for sheet music."""
    outputs = {kind: Path(path) for kind, path in requested.items() if path}
    seen: dict[str, str] = {}
    for kind, path in outputs.items():
        same = seen.setdefault(os.path.realpath(path), kind)
        if same != kind:
            raise ChoraleError(f"{path}: given for both --{same} and --{kind}; each output needs its own file")
        _check_output(kind, path, force)
    if "sheet" in outputs and _musescore() is None:
        raise ChoraleError("sheet music needs MuseScore, which is not installed "
                           "(Debian/Ubuntu: apt-get install musescore3)")
    return outputs


def _check_lengths(outputs: dict, steps: int, tempo: float) -> None:
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


def _check_output(kind: str, path: Path, force: bool) -> None:
    if path.suffix.lower() not in SUFFIXES[kind]:
        raise ChoraleError(f"{path}: unknown {kind} file type '{path.suffix}' (expected {', '.join(SUFFIXES[kind])})")
    check_output(path, force)


# ---------------------------------------------------------------------------- audio
def _soundfont() -> str | None:
    return next((sf for sf in SOUNDFONTS if os.path.isfile(sf)), None)


def write_wav(path, grid, *, tempo: float, program: int) -> str:
    """Render to a WAV file with FluidSynth and a General MIDI soundfont when installed, else
    with the built-in synthesizer; returns which one, for the user."""
    fluidsynth, soundfont = shutil.which("fluidsynth"), _soundfont()
    if fluidsynth and soundfont:
        _fluidsynth_wav(path, grid, tempo, program, fluidsynth, soundfont)
        return f"FluidSynth with {Path(soundfont).name}"
    _write_samples(path, synthesize(grid, tempo=tempo))
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

    from chorale.encoding import REST, STEPS_PER_QUARTER
    from chorale.io.midi import _runs, check_grid

    grid = check_grid(grid)
    samples_per_step = sample_rate * 60.0 / tempo / STEPS_PER_QUARTER
    signal = np.zeros(int(round(len(grid) * samples_per_step)) + 1, dtype=np.float64)
    ramp = int(0.015 * sample_rate)
    for voice in range(grid.shape[1]):
        for start, stop, pitch in _runs(grid[:, voice]):
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


def _write_samples(path, signal) -> None:
    import numpy as np

    pcm = (np.clip(signal, -1, 1) * 32767).astype("<i2")
    with atomic_write(path, "wb") as f, wave.open(f, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())


# ---------------------------------------------------------------------------- pictures
def piano_roll_size(steps: int) -> tuple[int, int]:
    """(width, height) in pixels of the piano roll of a chorale `steps` 16ths long: wide
    enough for every bar to stay legible, within reason."""
    from chorale.encoding import STEPS_PER_BAR

    low, high = ROLL_WIDTH_INCHES
    width = min(max(low, 2 + ROLL_INCHES_PER_BAR * steps / STEPS_PER_BAR), high)
    return round(width * ROLL_DPI), round(ROLL_HEIGHT_INCHES * ROLL_DPI)


def write_piano_roll(path, grid, *, title: str, tempo: float) -> None:
    """A PNG piano roll: voices in four colours, bar lines, note names, title with key and tempo."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from music21 import pitch

    from chorale.encoding import REST, STEPS_PER_BAR, VOICES
    from chorale.io.midi import _runs, check_grid, estimate_key

    grid = check_grid(grid)
    width, height = piano_roll_size(len(grid))
    figure = Figure(figsize=(width / ROLL_DPI, height / ROLL_DPI), dpi=ROLL_DPI)
    axes = figure.add_axes((0.06, 0.1, 0.92, 0.78))
    sung = grid[grid != REST]
    low, high = (int(sung.min()) - 2, int(sung.max()) + 2) if sung.size else (58, 70)
    for midi_pitch in range(low, high + 1):  # shade the black-key rows, as a keyboard does
        if pitch.Pitch(midi=midi_pitch).accidental is not None:
            axes.axhspan(midi_pitch - 0.5, midi_pitch + 0.5, color="#f0f0f0", zorder=0)
    beats = np.arange(0, len(grid) + 1, STEPS_PER_BAR // 4)  # one collection per kind: fast for long pieces
    bar_lines = beats % STEPS_PER_BAR == 0
    axes.vlines(beats[~bar_lines], 0, 1, transform=axes.get_xaxis_transform(), color="#dddddd", linewidth=0.5, zorder=1)
    axes.vlines(beats[bar_lines], 0, 1, transform=axes.get_xaxis_transform(), color="#888888", linewidth=1.0, zorder=1)
    for voice, (name, colour) in enumerate(zip(VOICES, VOICE_COLOURS)):
        runs = np.array([r for r in _runs(grid[:, voice]) if r[2] != REST]).reshape(-1, 3)
        start, stop, low_edge, high_edge = runs[:, 0], runs[:, 1], runs[:, 2] - 0.4, runs[:, 2] + 0.4
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
    key = f"{estimate_key(grid).name.replace('-', '♭')}, " if sung.size else ""
    axes.set_title(f"{title}\n{key}♩ = {tempo:g}", fontsize=11)
    figure.legend(loc="upper right", ncol=4, fontsize=8, frameon=False)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")


# ---------------------------------------------------------------------------- notation
def write_musicxml(path, grid, *, title: str, tempo: float) -> None:
    """MusicXML with four named parts (.mxl is written compressed)."""
    from chorale.io.midi import to_score

    score = to_score(grid, title=title, tempo=tempo)
    with atomic_path(path) as tmp:
        score.write("musicxml", fp=tmp)


def _musescore() -> str | None:
    return next((found for name in MUSESCORE if (found := shutil.which(name))), None)


def write_sheet(path, grid, *, title: str, tempo: float, musescore: str) -> None:
    """Engrave with MuseScore to PDF, or to PNG with the pages stacked into one picture."""
    path = Path(path)
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "score.musicxml", Path(folder) / f"score{path.suffix.lower()}"
        write_musicxml(source, grid, title=title, tempo=tempo)
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


# ---------------------------------------------------------------------------- CLI
def _program_option(ctx, param, value):
    from chorale.io.midi import program_number

    return program_number(value)


def render_options(command):
    """The output options `render` and `generate` share: --wav, --png, --musicxml, --sheet,
    --tempo, --instrument (passed on as `program`) and --title."""
    from chorale.cli_types import TEMPO

    output = click.Path(dir_okay=False, path_type=Path)
    options = [
        click.option("--wav", type=output, help="Write audio (FluidSynth if installed, else a built-in synthesizer)."),
        click.option("--png", type=output, help="Write a piano-roll picture (.png)."),
        click.option("--musicxml", type=output, help="Write MusicXML (.musicxml, .xml or compressed .mxl)."),
        click.option("--sheet", type=output, help="Engrave sheet music with MuseScore (.pdf or .png)."),
        click.option("--tempo", type=TEMPO, default=72.0, show_default=True,  # midi.DEFAULT_TEMPO
                     help="Quarter notes per minute."),
        click.option("--instrument", "program", default="church organ", show_default=True, callback=_program_option,
                     help="General MIDI instrument: a name such as 'choir aahs' or 'string ensemble 1', or 1-128."),
        click.option("--title", help="Title for the MIDI file, picture and score."),
    ]
    for option in reversed(options):
        command = option(command)
    return command
