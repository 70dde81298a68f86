"""The bundled default model: shipped whole, trained on the bundled data, as good as its card says."""

import pytest

from chorale.data.loader import load
from chorale.model.evaluate import score_chorales
from chorale.model.plan import PLAN_VERSION
from chorale.model.run import load_run
from chorale.io.files import bundled
from chorale.sampling.stepper import SAMPLER_FILE, Sampler, file_hash
from chorale.registry import DEFAULT_BACKBONE

MODEL = bundled("model")


def test_bundled_model_is_complete_small_and_made_from_the_bundled_data():
    for name in ("model.keras", "card.json", "history.csv", "training.png", SAMPLER_FILE):
        assert (MODEL / name).is_file(), name
    assert sum(f.stat().st_size for f in MODEL.iterdir()) < 5_000_000
    _, card, _ = load_run(MODEL)
    assert card["architecture"] == DEFAULT_BACKBONE and card["data"] == "bundled"
    assert card["data_fingerprint"] == load().fingerprint()
    # generate needs no TensorFlow: the shipped sampler was made from this very model.keras
    assert Sampler.load(MODEL / SAMPLER_FILE, file_hash(MODEL / "model.keras")) is not None


@pytest.mark.slow
def test_bundled_model_scores_on_the_test_split_what_its_card_says():
    model, card, vocab = load_run(MODEL)
    got = score_chorales(model, vocab, load()["test"], "bundled", "test")
    expected = card["metrics"]["test"]
    assert got["chorales"] == expected["chorales"]
    assert card["plan"] == PLAN_VERSION and "planned" in got  # scored with the plan unknown, and told
    for scores, stored in ((got, expected), (got["planned"], expected["planned"])):
        for protocol in ("windowed", "whole"):
            assert scores[protocol]["nll"] == pytest.approx(stored[protocol]["nll"], abs=1e-4)
            assert scores[protocol]["accuracy"] == pytest.approx(stored[protocol]["accuracy"], abs=1e-4)
    assert card["look_ahead"] and "harmonize" in got  # the look-ahead protocols, both ways
    for protocol in ("harmonize", "infill"):
        for reading in ("look_ahead", "left_to_right"):
            assert got[protocol][reading]["nll"] == pytest.approx(expected[protocol][reading]["nll"], abs=1e-4)
    assert expected["windowed"]["nll"] < 0.6557  # the published reference model's test loss
