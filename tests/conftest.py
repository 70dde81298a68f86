"""Fixtures shared across test modules (tests never import each other): the bundled model
and a held-out chorale, and small Keras models made to order. Keras is imported only by
the fixtures that build one, so the tests that need no TensorFlow never load it."""

import json

import numpy as np
import pytest

import chorale
from chorale.encoding import Vocabulary
from chorale.io.files import bundled

VOCAB = Vocabulary(36, 81)  # the randomized models' vocabulary: every pitch of the bundled data
SMALL = {  # options that make each backbone small enough to build in a moment
    "wavenet": dict(filters=8, dilations=(1, 2, 4, 8, 16)),
    "conv-gru": dict(filters=8, units=8),
    "gru": dict(units=8),
    "lstm": dict(units=8),
    "reference": {},
    "transformer": dict(width=8, layers=1, heads=2, ffn=8, max_distance=16),
}
CONSTANT_P = np.array([0.1, 0.2, 0.3, 0.4])  # constant_run's next-token distribution over Vocabulary(60, 62)


@pytest.fixture(scope="session")
def model():
    """The bundled model, loaded once (generating needs no TensorFlow)."""
    return chorale.load_model()


@pytest.fixture(scope="session")
def piece():
    """A held-out Bach chorale of 196 steps (a test module may define its own `piece`)."""
    return chorale.load(bundled("chorales") / "test" / "chorale_004.csv")


def _randomized(arch, seed=0, **options):
    import keras

    from chorale.model.networks import build_chorale_model

    keras.utils.set_random_seed(seed)
    model = build_chorale_model(arch, VOCAB, **{**SMALL.get(arch, {}), **options})
    rng = np.random.default_rng(seed)
    for v in model.weights:
        if "variance" in v.path:
            v.assign(rng.uniform(0.5, 1.5, v.shape).astype("float32"))
        elif any(k in v.path for k in ("bias", "beta", "moving_mean", "/plan")):
            v.assign(rng.normal(0, 0.2, v.shape).astype("float32"))
    return model


@pytest.fixture(scope="session")
def randomized():
    """randomized(arch, seed=0, **options): a small chorale model over Vocabulary(36, 81) with
    Keras's initial weights plus random biases, plan embeddings (zeros at first) and
    batch-norm statistics, so that every weight the stepper reads matters."""
    return _randomized


def _random_dataset(folder, counts=(("train", 3), ("valid", 2), ("test", 1)), seed=0):
    from chorale.io.csvfile import write_csv

    rng = np.random.default_rng(seed)
    for split, n in counts:
        (folder / split).mkdir(parents=True)
        for i in range(n):
            steps = int(rng.integers(40, 60))
            chords = np.array([72, 64, 57, 48]) + rng.integers(-3, 4, (steps, 4))
            write_csv(folder / split / f"chorale_{i:03d}.csv", chords)
    return folder


@pytest.fixture(scope="session")
def random_dataset():
    """random_dataset(folder, counts=(("train", 3), ("valid", 2), ("test", 1)), seed=0): a dataset
    folder of random 40-60-step chorales around one chord, for tiny training runs."""
    return _random_dataset


def _constant_run(folder, **options):
    import keras  # noqa: F401  (the model below is a Keras model)

    from chorale.model.networks import build_chorale_model

    vocab = Vocabulary(60, 62)
    model = build_chorale_model("wavenet", vocab, filters=4, dilations=(1,), embed_dim=4, **options)
    dense = model.get_layer("logits")
    dense.set_weights([np.zeros_like(dense.get_weights()[0]), np.log(CONSTANT_P)])
    model.save(folder / "model.keras")
    (folder / "card.json").write_text(json.dumps({"architecture": "wavenet", "vocabulary": vocab.to_dict(),
                                                  "voice_ranges": [[60, 62]] * 4}))
    return folder


@pytest.fixture(scope="session")
def constant_run():
    """constant_run(folder, **options): a run folder whose model's logits ignore every input,
    log(0.1, 0.2, 0.3, 0.4) over Vocabulary(60, 62) (tokens 3, 2, 1, 0 = pitches 62, 61, 60, rest)."""
    return _constant_run
