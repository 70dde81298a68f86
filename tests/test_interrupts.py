"""Interrupted and concurrent runs, with real processes.

`chorale train` killed (SIGKILL: no cleanup at all) or interrupted (SIGINT: Ctrl-C) at
several moments leaves every run file either absent or whole, and `--resume` finishes the
run; Ctrl-C prints one short line and exits 130. Two processes writing one path leave
exactly one writer's bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chorale.io.files import bundled

TINY_RUN = ["--epochs", "4", "-o", "filters=4", "-o", "dilations=(1,2)", "-o", "embed_dim=4",
            "--batch-size", "4", "--seed", "1", "--no-augment"]
QUIET = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Five real chorales: enough for a few windows in each split."""
    folder = tmp_path_factory.mktemp("data")
    for split, count in (("train", 3), ("valid", 1), ("test", 1)):
        (folder / split).mkdir()
        for csv in sorted((bundled("chorales") / split).glob("*.csv"))[:count]:
            shutil.copy(csv, folder / split)
    return folder


def start_train(data, out, *extra):
    return subprocess.Popen([sys.executable, "-m", "chorale", "train", "--data", str(data), "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=QUIET)


def wait_until(process, ready, timeout=120):
    """Poll until `ready()` or the process ends; fail on timeout."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, f"ended before the moment to kill it:\n{process.communicate()[1][-2000:]}"
        assert time.monotonic() < deadline, "timed out waiting for the moment to kill it"
        time.sleep(0.01)


def stop(process, sig):
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    return process.returncode, err


def rows(path: Path) -> int:
    try:
        return len(path.read_text().splitlines()) - 1
    except FileNotFoundError:
        return 0


def assert_every_file_is_whole(run: Path):
    """Each run file is absent or loads; SIGKILL may leave temporaries (resume removes them)."""
    from chorale.model.run import read_card, safe_load
    from chorale.model.run import read_run as _read_run
    from chorale.model.train import _read_history
    from chorale.sampling.stepper import Sampler

    checks = {"run.json": _read_run, "history.csv": _read_history, "model.keras": safe_load,
              "checkpoint.keras": safe_load, "training.png": lambda p: p.read_bytes().startswith(b"\x89PNG"),
              "card.json": lambda p: read_card(run), "sampler.npz": Sampler.load}
    for name, check in checks.items():
        if (run / name).exists():
            assert check(run / name), name
    unknown = {p.name for p in run.iterdir()} - set(checks)
    assert all(name.startswith(".") and ".tmp" in name for name in unknown), unknown


@pytest.mark.slow
def test_ctrl_c_while_starting_exits_130_and_writes_nothing(data, tmp_path):
    process = start_train(data, tmp_path / "run", *TINY_RUN)
    time.sleep(2)  # inside `import tensorflow`, long before the run folder is made
    code, err = stop(process, signal.SIGINT)
    assert code == 130 and err.strip().splitlines()[-1] == "Interrupted." and "Traceback" not in err, err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("where", ["make_context", "invoke"])
def test_ctrl_c_while_parsing_or_running_exits_130(monkeypatch, where):
    """Click's own handling would print "Aborted!" and exit 1 for Ctrl-C while it parses."""
    import click
    from click.testing import CliRunner

    from chorale.cli import cli

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(click.Group if where == "make_context" else click.Command, where, interrupt)
    result = CliRunner().invoke(cli, ["data", "info"])
    assert result.exit_code == 130 and result.output.strip() == "Interrupted.", result.output


@pytest.mark.slow
def test_killed_and_interrupted_training_resumes(data, tmp_path):
    run = tmp_path / "run"
    process = start_train(data, run, *TINY_RUN)
    wait_until(process, lambda: rows(run / "history.csv") >= 1)  # right after the first commit
    code, _ = stop(process, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert_every_file_is_whole(run)
    assert not (run / "card.json").exists()

    done = rows(run / "history.csv")
    process = start_train(data, run, "--resume")
    wait_until(process, lambda: rows(run / "history.csv") > done)  # in the middle of saving an epoch
    code, err = stop(process, signal.SIGINT)
    assert code == 130 and err.strip().splitlines()[-1] == "Interrupted." and "Traceback" not in err, err
    assert_every_file_is_whole(run)

    from click.testing import CliRunner

    from chorale.cli import cli

    finished = CliRunner().invoke(cli, ["train", "--data", str(data), "--out", str(run), "--resume"])
    assert finished.exit_code == 0, finished.output
    card = json.loads((run / "card.json").read_text())
    assert card["epochs_run"] == rows(run / "history.csv") == 4
    assert sorted(p.name for p in run.iterdir()) == ["card.json", "history.csv", "model.keras", "run.json",
                                                     "sampler.npz", "training.png"]
    assert_every_file_is_whole(run)


WRITER = """
import sys
from chorale.io.files import atomic_path, atomic_write
path, byte, times = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
for i in range(times):
    if i % 2:
        with atomic_write(path, "wb") as f:
            f.write(byte * 4_000_000)
    else:
        with atomic_path(path) as tmp:
            tmp.write_bytes(byte * 3_000_000)
"""


def test_two_writers_never_interleave_bytes(tmp_path):
    path = tmp_path / "out.bin"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), byte, "12"]) for byte in "ab"]
    while any(w.poll() is None for w in writers):
        if path.exists():
            data = path.read_bytes()  # what a reader sees mid-way: always one whole payload
            assert len(data) in (3_000_000, 4_000_000) and data.count(data[:1]) == len(data)
    assert [w.returncode for w in writers] == [0, 0]
    data = path.read_bytes()
    assert data in (b"a" * 3_000_000, b"b" * 3_000_000, b"a" * 4_000_000, b"b" * 4_000_000)
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]  # no temporary left behind
