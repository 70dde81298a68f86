"""Training across workers (TF_CONFIG): bad cluster configs, unreachable workers, and two
localhost workers that train one model together."""

import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmarks.multi_worker import free_ports
from chorale import ChoraleError
from chorale.cli import cli
from chorale.model import distributed
TINY = dict(filters=4, dilations=(1, 2), embed_dim=4)  # a model trained in seconds


def tf_config(ports, index, kind="worker"):
    return json.dumps({"cluster": {"worker": [f"localhost:{p}" for p in ports]}, "task": {"type": kind, "index": index}})


@pytest.mark.parametrize("config, words", [
    ("{not json", "not JSON"),
    ('{"cluster": {}, "task": {"type": "worker", "index": 0}}', "names no chief"),
    ('{"cluster": {"ps": ["a:1"]}, "task": {"type": "ps", "index": 0}}', "'ps' is not supported"),
    ('{"cluster": {"chief": ["a:1", "b:2"]}, "task": {"type": "chief", "index": 0}}', "several chiefs"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}', "not in the cluster"),
    ('{"cluster": {"worker": ["nohost"]}, "task": {"type": "worker", "index": 0}}', "host:port"),
])
def test_a_bad_tf_config_is_one_line_before_anything_is_written(config, words, tmp_path, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", config)
    result = CliRunner().invoke(cli, ["train", "--distribute", "mirrored", "--out", str(tmp_path / "run")])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("Error: TF_CONFIG"), result.output
    assert words in lines[0]
    assert not (tmp_path / "run").exists()


def test_who_writes_the_run(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distributed.is_chief() and distributed.cluster() is None
    monkeypatch.setenv("TF_CONFIG", tf_config([1, 2], 1))
    assert not distributed.is_chief()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"chief": ["a:1"], "worker": ["b:2"]},
                                                "task": {"type": "worker", "index": 0}}))
    assert not distributed.is_chief()


@pytest.mark.slow
def test_a_worker_that_never_starts_is_named_within_the_timeout():
    own, missing = free_ports(2)
    spec = {"worker": [f"localhost:{own}", f"localhost:{missing}"]}
    start = time.monotonic()
    with pytest.raises(ChoraleError, match=f"localhost:{missing} could not be reached within 1 s"):
        distributed.wait_for_peers(spec, "worker", 0, seconds=1)
    assert time.monotonic() - start < 5


@pytest.mark.slow
def test_two_workers_train_one_model(tmp_path, random_dataset):
    data = random_dataset(tmp_path / "data", counts=(("train", 4), ("valid", 3)))
    ports = free_ports(2)
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root), "CUDA_VISIBLE_DEVICES": ""}
    command = [sys.executable, "-m", "chorale", "train", "--distribute", "mirrored", "--data", str(data),
               "--arch", "wavenet", "--epochs", "1", "--batch-size", "2", "--seed", "3",
               *[f"-o{k}={v}" for k, v in TINY.items()]]
    workers = [subprocess.Popen([*command, "--out", str(tmp_path / f"run{i}")], env={**env, "TF_CONFIG": tf_config(ports, i)},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in range(2)]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    losses = [re.findall(r"\bloss: ([0-9.]+)", out) for out in outputs]
    assert losses[0] and losses[0] == losses[1], outputs
    assert "the chief worker writes the run folder" in outputs[1]
    assert not (tmp_path / "run1").exists()
    card = json.loads((tmp_path / "run0" / "card.json").read_text())
    assert card["hyperparameters"]["workers"] == 2 and card["hyperparameters"]["global_batch"] == 2
    with open(tmp_path / "run0" / "history.csv") as f:
        history = list(csv.DictReader(f))
    assert abs(float(history[-1]["loss"]) - float(losses[0][0])) < 1e-4  # the loss they printed is the run's
    result = CliRunner().invoke(cli, ["generate", "--model", str(tmp_path / "run0"), "--seed", "1", "--bars", "2",
                                      "--out", str(tmp_path / "song.mid")])
    assert result.exit_code == 0 and (tmp_path / "song.mid").stat().st_size > 0, result.output
