"""`chorale train`: outputs, determinism, resume, distribution, bad inputs (tiny models)."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from click.testing import CliRunner  # noqa: E402

import chorale.model.train as train_module  # noqa: E402
from chorale import ChoraleError  # noqa: E402
from chorale.cli import cli  # noqa: E402
from chorale.encoding import Vocabulary  # noqa: E402
from chorale.model.inputs import windows  # noqa: E402
from chorale.model.train import TRANSPOSE, batches, train, transposed_epoch, transpositions  # noqa: E402

TINY = dict(filters=4, dilations=(1, 2), embed_dim=4)


@pytest.fixture(scope="module")
def data(tmp_path_factory, random_dataset):
    return random_dataset(tmp_path_factory.mktemp("data"))


def run(out, data, **kw):
    return train(out, data=data, arch="wavenet", epochs=kw.pop("epochs", 1), batch_size=4, seed=7,
                 options=TINY, verbose=0, **kw)


def weights(folder, name="model.keras"):
    return keras.saving.load_model(folder / name, safe_mode=True).get_weights()


def test_windows_follow_the_reference_protocol():
    tokens = [np.arange(4 * 70)]  # 70 chords -> windows at chords 0, 16, 32 (48 + 33 > 70)
    w = windows(tokens)
    assert w.shape == (3, 132) and w[1, 0] == 64 and w[2, -1] == 4 * 65 - 1


def test_transposition_stays_in_each_voice_range():
    vocab = Vocabulary(36, 81)
    x = vocab.encode(np.array([[70, 60, 50, 0], [72, 62, 52, 0]]))[None]
    ranges = np.array([[68, 73], [58, 63], [50, 55], [0, 0]])
    allowed = transpositions(x, vocab, ranges)
    assert TRANSPOSE[allowed[0]].tolist() == [0, 1]  # -1 takes the tenor below 50; +2 the soprano above 73


def test_batches_transpose_each_window_by_an_allowed_shift_reproducibly():
    x = np.tile(np.arange(1, 9), (40, 1))  # 40 identical windows, all shifts allowed but -3 and 3
    allowed = np.tile(np.isin(TRANSPOSE, [-2, -1, 0, 1, 2]), (40, 1))
    first = [w for w, _ in batches(x, 8, seed=1, start=0, epochs=2, steps=5, shifts=allowed)]
    again = [w for w, _ in batches(x, 8, seed=1, start=1, epochs=2, steps=5, shifts=allowed)]
    moves = np.concatenate(first)[:, 0] - 1
    assert set(moves) == {-2, -1, 0, 1, 2}  # every allowed shift is used, no other
    assert all((a == b).all() for a, b in zip(first[5:], again))  # a resumed epoch is the same


def test_the_last_quarter_of_the_epochs_trains_on_the_real_keys():
    assert [transposed_epoch(e, 8) for e in range(8)] == [True] * 6 + [False] * 2
    assert transposed_epoch(0, 1) and [transposed_epoch(e, 4) for e in range(4)] == [True] * 3 + [False]
    x = np.tile(np.arange(1, 9), (40, 1))  # 40 identical windows: a transposed one starts at 1 + shift
    allowed = np.ones((40, len(TRANSPOSE)), bool)
    steps = [w[:, 0] for w, _ in batches(x, 8, seed=1, start=0, epochs=4, steps=5, shifts=allowed)]
    epochs = np.concatenate(steps).reshape(4, 40)
    assert (epochs[:3] != 1).any(axis=1).all() and (epochs[3] == 1).all()
    one_epoch = np.concatenate([w[:, 0] for w, _ in batches(x, 8, seed=1, start=0, epochs=1, steps=5,
                                                            shifts=allowed)])
    assert (one_epoch != 1).any()


@pytest.mark.slow
def test_outputs_and_determinism(data, tmp_path):
    import random

    from tensorflow.python.framework import config

    np.random.seed(7)
    random.seed(7)
    numpy_next, python_next = np.random.get_state()[1][:4].copy(), random.getstate()
    card = run(tmp_path / "a", data)
    run(tmp_path / "b", data)
    # the caller's random state and TensorFlow's settings are as they were: seeds are the run's own
    assert (np.random.get_state()[1][:4] == numpy_next).all() and random.getstate() == python_next
    assert not config.is_op_determinism_enabled()
    for name in ("model.keras", "card.json", "history.csv", "training.png"):
        assert (tmp_path / "a" / name).is_file()
    from chorale.sampling.cache import load_sampler

    load_sampler(tmp_path / "a")  # the sampler's cache, made on first use (chorale.train() uses it at once)
    assert (tmp_path / "a" / "sampler.npz").is_file()
    assert not (tmp_path / "a" / "checkpoint.keras").exists()
    assert card["vocabulary"]["size"] > 1 and card["data_fingerprint"] and card["versions"]["keras"]
    assert card["hyperparameters"]["augment"] and card["hyperparameters"]["transposed_epochs"] == 1
    assert json.loads((tmp_path / "a" / "card.json").read_text()) == card
    for wa, wb in zip(weights(tmp_path / "a"), weights(tmp_path / "b")):
        np.testing.assert_array_equal(wa, wb)


@pytest.mark.slow
def test_a_model_trained_with_hidden_plans_runs_with_and_without_one(data, tmp_path):
    """Each plan part is hidden in some windows: the same model scores, and samples, with no
    plan at all; a model trained without plans refuses one."""
    from chorale.model.evaluate import evaluate
    from chorale.model.plan import PLAN_VERSION, Plan
    from chorale.sampling.cache import load_sampler
    from chorale.sampling.sample import Controls, generate

    card = run(tmp_path / "p", data, plan=True)
    assert card["plan"] == PLAN_VERSION
    scores = evaluate(tmp_path / "p", data)
    for protocol in ("windowed", "whole"):  # the plan unknown, and told
        assert 0 < scores[protocol]["nll"] < 5 and 0 < scores["planned"][protocol]["nll"] < 5
    sampler, _, vocab = load_sampler(tmp_path / "p")
    primer = np.array([[72, 64, 57, 48]])
    for plan in (None, Plan((0, "major"), (10, 31), 32)):
        grids, loglik = generate(sampler, vocab, [primer], 32, [1], Controls(), [plan])
        assert grids[0].shape == (32, 4) and np.isfinite(loglik).all()
    assert run(tmp_path / "n", data, plan=False)["plan"] == 0
    with pytest.raises(ChoraleError, match="trained without a plan"):
        generate(load_sampler(tmp_path / "n")[0], vocab, [primer], 32, [1], Controls(), [Plan(length=32)])


@pytest.mark.slow
def test_resume_continues_where_it_stopped(data, tmp_path, monkeypatch):
    run(tmp_path / "straight", data, epochs=2)

    def interrupt_after_one_epoch(history, patience=None):
        if len(history) == 1:
            raise KeyboardInterrupt
        return False

    with monkeypatch.context() as m:  # interrupted after the first epoch's checkpoint
        m.setattr(train_module, "_stale", interrupt_after_one_epoch)
        with pytest.raises(KeyboardInterrupt):
            run(tmp_path / "resumed", data, epochs=2)
    assert not (tmp_path / "resumed" / "card.json").exists()
    # restating some of the run's own options is allowed
    card = train(tmp_path / "resumed", data=data, resume=True, verbose=0, options={"filters": TINY["filters"]})
    assert card["epochs_run"] == 2
    for wa, wb in zip(weights(tmp_path / "straight"), weights(tmp_path / "resumed")):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus(data, tmp_path):
    script = textwrap.dedent(f"""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from chorale.model.train import strategy_for, train
        assert strategy_for("mirrored").num_replicas_in_sync == 2
        card = train({str(tmp_path / "m")!r}, data={str(data)!r}, arch="wavenet", epochs=1, batch_size=2,
                     seed=1, options={TINY!r}, distribute="mirrored", verbose=0)
        print("OK", card["hyperparameters"]["distribute"])
    """)
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert "OK mirrored" in done.stdout, done.stderr[-2000:]


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def one_line_error(result, *words):
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert all(w in lines[0] for w in words), lines[0]


@pytest.mark.slow
def test_bad_inputs(data, tmp_path):
    tiny = ["-o", "filters=4", "-o", "dilations=(1,2)", "-o", "embed_dim=4", "--epochs", "1", "--seed", "1"]
    one_line_error(invoke("train", "--data", str(data), "--arch", "perceiver", "--out", str(tmp_path / "x")),
                   "unknown architecture")
    one_line_error(invoke("train", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")),
                   "no such file")
    one_line_error(invoke("train", "--data", str(data), "-o", "colour=3", "--out", str(tmp_path / "x")),
                   "unknown option")
    assert not (tmp_path / "x").exists()

    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "model.keras").write_text("precious")
    one_line_error(invoke("train", "--data", str(data), "--out", str(existing), *tiny), "already exists")
    assert (existing / "model.keras").read_text() == "precious"

    finished = tmp_path / "finished"
    assert invoke("train", "--data", str(data), "--out", str(finished), *tiny).exit_code == 0
    before = (finished / "model.keras").read_bytes()
    one_line_error(invoke("train", "--out", str(finished), "--resume", "--data", str(data)), "finished")
    one_line_error(invoke("train", "--out", str(existing), "--resume", "--data", str(data)), "not a training run")
    (finished / "card.json").unlink()  # looks interrupted, but the checkpoint is gone
    one_line_error(invoke("train", "--out", str(finished), "--resume", "--data", str(data)), "no checkpoint")
    assert (finished / "model.keras").read_bytes() == before


@pytest.mark.slow
def test_resume_refuses_other_options_or_data(data, tmp_path, monkeypatch, random_dataset):
    monkeypatch.setattr(train_module, "_plot", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "r", data)
    monkeypatch.undo()
    one_line_error(invoke("train", "--out", str(tmp_path / "r"), "--resume", "--data", str(data),
                          "--arch", "gru"), "different arch")
    one_line_error(invoke("train", "--out", str(tmp_path / "r"), "--resume", "--data", str(data),
                          "--option", "filters=8"), "different options")
    other = random_dataset(tmp_path / "other", seed=5)
    one_line_error(invoke("train", "--out", str(tmp_path / "r"), "--resume", "--data", str(other)),
                   "different data")
