"""The hardening mechanisms on their own: the last-resort handler, SIGTERM, exclusive final
writes, the run-folder lock, long output names, titles any output can store, and inputs
that are read in bounded time (the catalogue in test_bad_inputs.py covers the refusals)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mido
import numpy as np
import pytest
from click.testing import CliRunner

from chorale import ChoraleError
from chorale.cli import LAST_RESORT, cli
from chorale.io.csvfile import HEADER, read_csv, write_csv
from chorale.data.loader import load
from chorale.io.files import atomic_write, bundled, final_outputs, run_lock
from chorale.io.midi import midi_text, write_midi
from chorale.io.scores import read_grid

BACH = load(bundled("chorales") / "test")["test"][0].grid


def test_an_unexpected_exception_is_one_line_and_a_report(monkeypatch, tmp_path):
    import chorale.data.loader as loader

    def broken(path=None):
        raise RuntimeError("something no one foresaw")

    monkeypatch.setattr(loader, "load", broken)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    result = CliRunner().invoke(cli, ["data", "info"])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and LAST_RESORT in lines[0]
    assert "data info failed unexpectedly (RuntimeError" in lines[0]
    report = Path(lines[0].rsplit(" ", 1)[1])
    assert report.parent == tmp_path and "something no one foresaw" in report.read_text()


def test_an_os_error_is_one_line_without_a_report(monkeypatch):
    import chorale.data.loader as loader

    def full(path=None):
        raise OSError(28, "No space left on device", "out.csv")

    monkeypatch.setattr(loader, "load", full)
    result = CliRunner().invoke(cli, ["data", "info"])
    assert result.exit_code == 1 and result.output.strip() == "Error: out.csv: No space left on device"


@pytest.mark.slow
def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    """Building the corpus takes long enough to be stopped; the partial folder goes away."""
    process = subprocess.Popen([sys.executable, "-m", "chorale", "data", "build", "--out", str(tmp_path / "ds")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    time.sleep(3)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143 and err.strip().splitlines()[-1] == "Terminated."
    assert "Traceback" not in err


def test_a_final_output_written_meanwhile_is_not_replaced(tmp_path):
    target = tmp_path / "song.mid"
    with pytest.raises(ChoraleError, match="another command wrote it"), final_outputs(force=False):
        with atomic_write(target) as f:
            f.write("mine")
            target.write_text("theirs")  # the other process finishes first
    assert target.read_text() == "theirs" and os.listdir(tmp_path) == ["song.mid"]
    with final_outputs(force=True), atomic_write(target) as f:
        f.write("mine")
    assert target.read_text() == "mine"


def test_two_commands_cannot_hold_one_run_folder(tmp_path):
    with run_lock(tmp_path / "run"):
        with pytest.raises(ChoraleError, match="another chorale command is writing this run folder"):
            with run_lock(tmp_path / "run"):
                pass
        with run_lock(tmp_path / "other"):
            pass
    with run_lock(tmp_path / "run"):  # released, and its file removed
        pass


def test_train_refuses_a_run_folder_another_command_holds(tmp_path):
    with run_lock(tmp_path / "run"):
        result = CliRunner().invoke(cli, ["train", "--data", "nowhere", "--out", str(tmp_path / "run")])
    assert result.exit_code == 1 and "another chorale command is writing this run folder" in result.output
    result = CliRunner().invoke(cli, ["train", "--data", "nowhere", "--out", str(tmp_path / "run")])
    assert "no such file" in result.output  # released when the first command ended


def test_a_legal_long_output_name_is_written(tmp_path):
    target = tmp_path / ("x" * 250 + ".mid")
    write_midi(target, BACH)
    np.testing.assert_array_equal(read_grid(target), BACH)


@pytest.mark.parametrize("title", ["Wachet auf — X", "Lied ☃", "Chorał ő", "a\x01b", "\udcff name"])
def test_any_title_is_written_and_read_back(tmp_path, title):
    result = CliRunner().invoke(cli, ["render", str(_csv(tmp_path)), "--midi", str(tmp_path / "o.mid"),
                                      "--musicxml", str(tmp_path / "o.musicxml"), "--title", title])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(read_grid(tmp_path / "o.musicxml")[:len(BACH)], BACH)  # the last bar is padded
    name = mido.MidiFile(tmp_path / "o.mid").tracks[0].name
    assert name == midi_text(title) and name.isprintable()


def test_a_file_name_outside_latin1_is_the_default_title(tmp_path):
    source = tmp_path / "Wachet auf — ☃.csv"
    write_csv(source, BACH)
    result = CliRunner().invoke(cli, ["render", str(source), "--midi", str(tmp_path / "o.mid")])
    assert result.exit_code == 0, result.output
    assert mido.MidiFile(tmp_path / "o.mid").tracks[0].name == "Wachet auf ? ?"


def test_carriage_return_only_csv_is_read(tmp_path):
    path = tmp_path / "cr.csv"
    path.write_bytes((HEADER + "\r" + "".join(",".join(map(str, r)) + "\r" for r in BACH[:8])).encode())
    np.testing.assert_array_equal(read_csv(path), BACH[:8])


def test_midi_import_is_linear(tmp_path):
    """A long one-track melody (the issue's 192 KB file took 54 s) is read in well under a second per 10k notes."""
    track = mido.MidiTrack()
    for i in range(10_000):
        track += [mido.Message("note_on", note=60 + i % 12, velocity=80, time=0),
                  mido.Message("note_off", note=60 + i % 12, velocity=0, time=120)]
    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    midi.tracks.append(track)
    midi.save(tmp_path / "long.mid")
    start = time.perf_counter()
    grid = read_grid(tmp_path / "long.mid")
    assert len(grid) == 10_000 and time.perf_counter() - start < 5


def test_an_archive_skips_members_that_are_not_csvs_unread(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "d.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("train/a.csv", HEADER + "\n60,55,52,48\n")
        z.writestr("video.bin", b"\0" * 40_000_000)  # over every limit, but never inflated
    assert len(load(tmp_path / "d.zip")["train"]) == 1


def test_same_named_folders_are_two_columns(tmp_path):
    for side in ("a", "b"):
        (tmp_path / side / "out").mkdir(parents=True)
        write_csv(tmp_path / side / "out" / "c.csv", BACH)
    from chorale.musicality import read_groups

    assert len(read_groups([tmp_path / "a" / "out", tmp_path / "b" / "out"])) == 2


def _csv(folder: Path) -> Path:
    write_csv(folder / "c.csv", BACH)
    return folder / "c.csv"
