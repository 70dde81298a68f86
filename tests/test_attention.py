"""The transformer backbone: relative attention by hand, causality, the key/value-cache
stepper against the full model, save/load, bad model folders, a tiny training run."""

import json
import shutil

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from chorale import ChoraleError  # noqa: E402
from chorale.encoding import Vocabulary  # noqa: E402
from chorale.model.attention import RelativeAttention  # noqa: E402
from chorale.model.networks import build_chorale_model  # noqa: E402
from chorale.model.run import load_run, safe_load  # noqa: E402
from chorale.sampling.cache import load_sampler  # noqa: E402
from chorale.sampling.sample import sample  # noqa: E402
from chorale.sampling.stepper import Sampler  # noqa: E402

VOCAB = Vocabulary(36, 81)
TINY = dict(width=16, layers=2, heads=2, ffn=24, max_distance=8, max_context=64)


def randomized(seed=0, **options):
    """A tiny transformer whose every weight the stepper reads is non-trivial (biases, norms,
    plan tables, distance table and the look-ahead's output start at zeros or ones)."""
    keras.utils.set_random_seed(seed)
    model = build_chorale_model("transformer", VOCAB, embed_dim=8, **{**TINY, **options})
    rng = np.random.default_rng(seed)
    for v in model.weights:
        if any(k in v.path for k in ("bias", "beta", "gamma", "/plan", "distances", "look_ahead/out")):
            v.assign(rng.normal(0, 0.3, v.shape).astype("float32"))
    return model


def inputs(rng, batch, length):
    return {"tokens": rng.integers(0, VOCAB.size, (batch, length)).astype("int32"),
            "plan": rng.integers(0, 5, (batch, length, 3)).astype("int32"),
            "known": rng.integers(0, VOCAB.size + 1, (batch, length)).astype("int32")}


def test_relative_attention_by_hand():
    """3 tokens, 1 head, width 2, q = k = v = x, distances clipped at 1:
    logit(i, j) = (x_i . x_j + x_i . e_min(i - j, 1)) / sqrt(2), e_0 = (0, 0), e_1 = (1, 0)."""
    layer = RelativeAttention(width=2, heads=1, max_distance=2)
    layer.build((1, 3, 2))
    layer.qkv.set_weights([np.concatenate([np.eye(2)] * 3, axis=1), np.zeros(6)])
    layer.out.set_weights([np.eye(2), np.zeros(2)])
    layer.distances.assign(np.array([[[0.0, 0.0], [1.0, 0.0]]]))
    x = np.array([[[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]]], np.float32)
    out = np.asarray(layer(x))[0]
    # row 0 sees itself only; row 1: logits (0 + 0, 1 + 0) / sqrt 2;
    # row 2: (2 + 2, 1 + 2, 5 + 0) / sqrt 2 (token 0, two back, clipped to distance 1)
    np.testing.assert_allclose(out[0], [1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(out[1], [0.3302385, 0.6697615], atol=1e-6)
    np.testing.assert_allclose(out[2], [1.4359461, 0.7160046], atol=1e-6)


def test_a_future_token_moves_no_earlier_prediction():
    model = randomized(plan=True, look_ahead=True)  # the known cells stay as they are
    x = inputs(np.random.default_rng(1), 1, 48)
    before = np.asarray(model(x))
    x["tokens"][0, 30] = (x["tokens"][0, 30] + 1) % VOCAB.size
    x["plan"][0, 30] = (x["plan"][0, 30] + 1) % 5
    after = np.asarray(model(x))
    np.testing.assert_array_equal(before[0, :30], after[0, :30])
    assert np.abs(before[0, 30:] - after[0, 30:]).max() > 1e-3


@pytest.mark.parametrize("conditioned", [False, True], ids=["plain", "plan-and-known"])
def test_the_stepper_equals_the_full_model(conditioned):
    """Longer than max_distance (clipped distances) and the cache's first growth is not
    needed here: see the next test."""
    model = randomized(plan=conditioned, look_ahead=conditioned)
    x = inputs(np.random.default_rng(2), 2, 40)
    feed = x if conditioned else x["tokens"]
    full = np.asarray(model(feed))
    stepper = Sampler.from_model(model).stepper(2, x["known"] if conditioned else None)
    stepped = np.stack([stepper(x["tokens"][:, t], t, x["plan"][:, t] if conditioned else None)
                        for t in range(40)], axis=1)
    assert np.abs(full - stepped).max() <= 1e-4


def test_the_cache_grows_and_a_longer_piece_is_refused(monkeypatch):
    from chorale.sampling import attention_step

    monkeypatch.setattr(attention_step, "FIRST_CAPACITY", 8)  # grows 8 -> 16 -> 32 -> 64 (the limit)
    model = randomized()
    tokens = np.random.default_rng(3).integers(0, VOCAB.size, (1, 64)).astype("int32")
    sampler = Sampler.from_model(model)
    stepper = sampler.stepper(1)
    stepped = np.stack([stepper(tokens[:, t], t) for t in range(64)], axis=1)
    assert np.abs(np.asarray(model(tokens)) - stepped).max() <= 1e-4
    with pytest.raises(ChoraleError, match="at most 64 tokens"):
        stepper(tokens[:, 0], 64)
    forced = np.full((1, 68), -1)
    forced[:, :4] = VOCAB.encode(np.array([[72, 67, 64, 48]]))
    with pytest.raises(ChoraleError, match=r"at most 64 tokens \(16 steps.*needs 68 tokens"):
        sample(sampler, VOCAB, forced, seeds=[0])
    assert sample(sampler, VOCAB, forced[:, :64], seeds=[0])[0].shape == (1, 64)


def test_save_load_round_trip(tmp_path):
    model = randomized(plan=True, look_ahead=True)
    model.save(tmp_path / "m.keras")
    loaded = safe_load(tmp_path / "m.keras")
    x = inputs(np.random.default_rng(4), 1, 24)
    np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(loaded(x)))
    block = loaded.get_layer("transformer_backbone").get_layer("block1")
    assert (block.width, block.heads, block.ffn, block.max_distance, block.max_context) == (16, 2, 24, 8, 64)
    sampler = Sampler.from_model(loaded)
    sampler.save(tmp_path / "sampler.npz", "hash")
    again = Sampler.load(tmp_path / "sampler.npz", "hash")
    assert again.max_tokens == 64
    a, b = sampler.stepper(1, x["known"]), again.stepper(1, x["known"])
    for t in range(24):
        np.testing.assert_array_equal(a(x["tokens"][:, t], t, x["plan"][:, t]), b(x["tokens"][:, t], t, x["plan"][:, t]))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, random_dataset):
    from chorale.model.train import train

    data = random_dataset(tmp_path_factory.mktemp("data"))
    out = tmp_path_factory.mktemp("runs") / "t"
    card = train(out, data=data, arch="transformer", epochs=3, batch_size=2, learning_rate=3e-3, seed=3, verbose=0,
                 options=dict(TINY, embed_dim=8, dropout=0.0))
    return out, card


@pytest.mark.slow
def test_a_tiny_run_learns_and_writes_a_whole_run_folder(trained):
    out, card = trained
    import pandas as pd

    losses = pd.read_csv(out / "history.csv")
    assert losses["loss"].iloc[-1] < losses["loss"].iloc[0]
    assert losses["val_loss"].min() < losses["val_loss"].iloc[0]
    assert card["architecture"] == "transformer" and card["options"]["width"] == 16
    assert card["hyperparameters"]["whole_chorales"] and card["hyperparameters"]["clipnorm"] == 1.0
    sampler, _, _ = load_sampler(out)
    assert (out / "sampler.npz").is_file() and sampler.max_tokens == 64


@pytest.mark.slow
def test_bad_model_folders_are_one_line_errors(trained, tmp_path):
    out, card = trained
    unknown = tmp_path / "unknown"
    shutil.copytree(out, unknown)
    (unknown / "card.json").write_text(json.dumps({**card, "architecture": "perceiver"}))
    with pytest.raises(ChoraleError, match="unknown architecture 'perceiver'") as e:
        load_sampler(unknown)
    assert "\n" not in str(e.value)
    mismatch = tmp_path / "mismatch"
    shutil.copytree(out, mismatch)
    (mismatch / "card.json").write_text(json.dumps({**card, "parameters": card["parameters"] + 1}))
    with pytest.raises(ChoraleError, match="parameters") as e:
        load_run(mismatch)
    assert "\n" not in str(e.value)


@pytest.mark.slow
def test_an_interrupted_run_resumes_to_the_same_weights(tmp_path, monkeypatch, random_dataset):
    import chorale.model.train as train_module

    data = random_dataset(tmp_path / "data")
    options = dict(width=8, layers=1, heads=2, ffn=8, max_distance=8, embed_dim=4, dropout=0.0)  # as test_train

    def run(out):
        return train_module.train(out, data=data, arch="transformer", epochs=2, batch_size=2, seed=5, verbose=0,
                                  options=options)

    run(tmp_path / "straight")
    with monkeypatch.context() as m:  # interrupted after the first epoch's checkpoint
        m.setattr(train_module, "_stale", lambda history, patience=None: (_ for _ in ()).throw(KeyboardInterrupt)
                  if len(history) == 1 else False)
        with pytest.raises(KeyboardInterrupt):
            run(tmp_path / "resumed")
    card = train_module.train(tmp_path / "resumed", data=data, resume=True, verbose=0)
    assert card["epochs_run"] == 2
    straight = keras.saving.load_model(tmp_path / "straight" / "model.keras").get_weights()
    resumed = keras.saving.load_model(tmp_path / "resumed" / "model.keras").get_weights()
    for a, b in zip(straight, resumed):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
