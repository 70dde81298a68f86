"""Rendering: audio that really sounds, pictures of the right size, scores that re-parse.

FluidSynth, its General MIDI soundfont and MuseScore are installed by .ci/run, so in CI
(where CI is set) their tests fail where they are missing. Elsewhere they are skipped with
the Debian packages to install: fluidsynth fluid-soundfont-gm musescore3.
"""

import os
import shutil
import subprocess
import sys
import wave

import numpy as np
import pytest
from click.testing import CliRunner

from chorale.cli import cli
from chorale.io.csvfile import write_csv
from chorale.io.midi import DEFAULT_TEMPO, write_midi
from chorale.io.scores import read_grid
from chorale.io.render import _soundfont, piano_roll_size, render_all

CHORDS = [(67, 62, 59, 43, 2), (69, 66, 62, 50, 1), (71, 67, 62, 43, 1), (72, 0, 64, 45, 2),
          (69, 66, 60, 50, 2), (67, 62, 59, 43, 4)]  # (soprano, alto, tenor, bass, quarters), G major
GRID = np.array([c[:4] for c in CHORDS for _ in range(4 * c[4])], dtype=np.int32)

SECONDS = len(GRID) / 4 * 60 / DEFAULT_TEMPO  # 12 quarters at 72 BPM = 10 s


def _read_wav(path):
    with wave.open(str(path)) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return frames.reshape(-1, w.getnchannels()), w.getframerate()


def _require(program):
    if not shutil.which(program) or (program == "fluidsynth" and not _soundfont()):
        missing = f"{program} is not installed (apt-get install fluidsynth fluid-soundfont-gm musescore3)"
        (pytest.fail if os.environ.get("CI") else pytest.skip)(missing)


def test_fluidsynth_renders_our_midi_to_sound_of_the_right_length(tmp_path):
    _require("fluidsynth")
    write_midi(tmp_path / "c.mid", GRID)
    subprocess.run(["fluidsynth", "-ni", "-q", "-F", str(tmp_path / "c.wav"), "-r", "44100", "-g", "1.0",
                    _soundfont(), str(tmp_path / "c.mid")], check=True, capture_output=True, timeout=120)
    samples, rate = _read_wav(tmp_path / "c.wav")
    seconds = len(samples) / rate
    assert SECONDS <= seconds <= SECONDS + 5  # plus the organ's release and reverb tail
    music = np.abs(samples[: int(SECONDS * rate)].astype(float))
    assert music.max() > 3000  # loud enough to hear, in 16-bit samples
    second_by_second = music[: int(SECONDS) * rate].reshape(int(SECONDS), -1).max(axis=1)
    assert (second_by_second > 300).all()  # sound all the way through, not only at the start


def test_wav_uses_fluidsynth_when_installed(tmp_path):
    _require("fluidsynth")
    messages = render_all(GRID, wav=tmp_path / "c.wav")
    assert messages == [f"WAV: {tmp_path / 'c.wav'} (FluidSynth with FluidR3_GM.sf2)"]
    samples, rate = _read_wav(tmp_path / "c.wav")
    assert len(samples) / rate >= SECONDS and np.abs(samples).max() > 3000


def test_builtin_synthesizer_without_fluidsynth(tmp_path, monkeypatch):
    monkeypatch.setattr("chorale.io.render.shutil.which", lambda name: None)
    messages = render_all(GRID, wav=tmp_path / "c.wav", tempo=120)
    assert "built-in organ synthesizer; install fluidsynth" in messages[0]
    samples, rate = _read_wav(tmp_path / "c.wav")
    assert samples.shape[1] == 1
    assert len(samples) / rate == pytest.approx(len(GRID) / 4 * 60 / 120, abs=0.01)
    quarters = np.abs(samples[:, 0].astype(float)).reshape(-1)[: rate * 6].reshape(12, -1).max(axis=1)
    assert (quarters > 3000).all()  # every beat sounds: no silent stretch, no clipping to zero


@pytest.mark.parametrize(("steps", "size"), [(48, (800, 600)), (40 * 16, (2200, 600)), (100 * 16, (3200, 600))])
def test_piano_roll_has_the_expected_size(tmp_path, steps, size):
    import matplotlib.image

    grid = np.resize(GRID, (steps, 4))
    render_all(grid, png=tmp_path / "roll.png", title="Cadence")
    assert piano_roll_size(steps) == size
    assert matplotlib.image.imread(tmp_path / "roll.png").shape[:2] == size[::-1]


@pytest.mark.parametrize("name", ["c.musicxml", "c.mxl"])
def test_musicxml_reparses_to_the_same_notes(tmp_path, name):
    render_all(GRID, musicxml=tmp_path / name, title="Cadence")
    back = read_grid(tmp_path / name)
    np.testing.assert_array_equal(back[: len(GRID)], GRID)
    assert not back[len(GRID):].any()


@pytest.mark.parametrize("name", ["score.pdf", "score.png"])
def test_sheet_music_through_musescore(tmp_path, name):
    _require("mscore3")
    messages = render_all(GRID, sheet=tmp_path / name, title="Cadence")
    assert messages == [f"Sheet music: {tmp_path / name} (MuseScore)"]
    data = (tmp_path / name).read_bytes()
    assert data.startswith(b"%PDF" if name.endswith(".pdf") else b"\x89PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no stray pages or temporary files


def test_a_sixteen_bar_chorale_is_engraved_on_one_page(tmp_path):
    _require("mscore3")
    from chorale.data.loader import load

    grid = load()["test"][0].grid[:256]
    render_all(grid, sheet=tmp_path / "s.png")
    import matplotlib.image

    height, width = matplotlib.image.imread(tmp_path / "s.png").shape[:2]
    assert height < 1.6 * width  # one A4 page (pages would stack to twice its height)


def test_render_titles_a_midi_file_as_it_is_titled(tmp_path):
    write_midi(tmp_path / "song.mid", GRID, title="Chorale (seed 3)")
    result = CliRunner().invoke(cli, ["render", str(tmp_path / "song.mid"), "--musicxml", str(tmp_path / "s.xml")])
    assert result.exit_code == 0, result.output
    assert "<movement-title>Chorale (seed 3)</movement-title>" in (tmp_path / "s.xml").read_text()
    write_csv(tmp_path / "song.csv", GRID)
    CliRunner().invoke(cli, ["render", str(tmp_path / "song.csv"), "--musicxml", str(tmp_path / "c.xml")])
    assert "<movement-title>song</movement-title>" in (tmp_path / "c.xml").read_text()


def test_sheet_without_musescore_names_the_package_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr("chorale.io.render._musescore", lambda: None)
    write_csv(tmp_path / "c.csv", GRID)
    result = CliRunner().invoke(cli, ["render", str(tmp_path / "c.csv"), "--png", str(tmp_path / "r.png"),
                                      "--sheet", str(tmp_path / "s.pdf")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: sheet music needs MuseScore, which is not installed (Debian/Ubuntu: apt-get install musescore3)"]
    assert [p.name for p in tmp_path.iterdir()] == ["c.csv"]


# ---------------------------------------------------------------------------- CLI
def test_render_command_writes_every_output(tmp_path):
    import mido

    write_csv(tmp_path / "in.csv", GRID)
    out = {"midi": "c.mid", "csv": "c.csv", "wav": "c.wav", "png": "c.png", "musicxml": "c.musicxml"}
    args = [f"--{k}={tmp_path / v}" for k, v in out.items()]
    result = CliRunner().invoke(cli, ["render", str(tmp_path / "in.csv"), *args, "--instrument", "Choir Aahs",
                                      "--tempo", "60", "--title", "Cadence"])
    assert result.exit_code == 0, result.output
    assert len(result.output.strip().splitlines()) == len(out)
    midi = mido.MidiFile(tmp_path / "c.mid")
    assert {m.program for t in midi.tracks for m in t if m.type == "program_change"} == {52}
    assert midi.tracks[0].name == "Cadence" and midi.length == pytest.approx(len(GRID) / 4)
    np.testing.assert_array_equal(read_grid(tmp_path / "c.csv"), GRID)
    np.testing.assert_array_equal(read_grid(tmp_path / "c.mid"), GRID)


def test_render_needs_an_output_and_refuses_to_overwrite(tmp_path):
    write_csv(tmp_path / "in.csv", GRID)
    runner = CliRunner()
    assert runner.invoke(cli, ["render", str(tmp_path / "in.csv")]).exit_code == 2
    (tmp_path / "c.mid").write_bytes(b"old")
    refused = runner.invoke(cli, ["render", str(tmp_path / "in.csv"), "--midi", str(tmp_path / "c.mid"),
                                  "--csv", str(tmp_path / "new.csv")])
    assert refused.exit_code == 1 and "already exists (use --force to overwrite)" in refused.output
    assert (tmp_path / "c.mid").read_bytes() == b"old" and not (tmp_path / "new.csv").exists()
    forced = runner.invoke(cli, ["render", str(tmp_path / "in.csv"), "--midi", str(tmp_path / "c.mid"), "--force"])
    assert forced.exit_code == 0
    np.testing.assert_array_equal(read_grid(tmp_path / "c.mid"), GRID)


@pytest.mark.parametrize(("option", "name", "message"), [
    ("--png", "roll.jpg", "unknown png file type '.jpg' (expected .png)"),
    ("--sheet", "score.svg", "unknown sheet file type '.svg' (expected .pdf, .png)"),
    ("--wav", "out.mp3", "unknown wav file type '.mp3'"),
    ("--instrument", "kazoo", "unknown instrument 'kazoo'"),
])
def test_bad_output_options_are_one_line_errors(tmp_path, option, name, message):
    write_csv(tmp_path / "in.csv", GRID)
    value = str(tmp_path / name) if option != "--instrument" else name
    result = CliRunner().invoke(cli, ["render", str(tmp_path / "in.csv"), option, value, "--png", str(tmp_path / "x.png")]
                                if option != "--png" else ["render", str(tmp_path / "in.csv"), option, value])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1 and message in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["in.csv"]


def test_help_stays_light():
    code = ("import sys; from chorale.cli import cli; heavy = {'music21', 'matplotlib', 'mido', 'tensorflow'};"
            "print(sorted(heavy & set(sys.modules)))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"


def test_shared_tempo_default_matches_the_midi_default():
    option = next(p for p in cli.commands["render"].params if p.name == "tempo")
    assert option.default == DEFAULT_TEMPO
