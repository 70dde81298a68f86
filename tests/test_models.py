"""The sequence core: causality of every backbone, the reference's size, save/load."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from chorale import ChoraleError  # noqa: E402
from chorale.encoding import Vocabulary  # noqa: E402
from chorale.model.networks import build_backbone, build_chorale_model  # noqa: E402
from chorale.registry import BACKBONES  # noqa: E402

TINY = {
    "wavenet": dict(filters=8, dilations=(1, 2, 4)),
    "conv-gru": dict(filters=8, units=8),
    "gru": dict(units=8, layers=2),
    "lstm": dict(units=8, layers=1),
    "reference": {},
    "transformer": dict(width=8, layers=1, heads=2, ffn=8, max_distance=4),
}


def _changes_before(f, x, t):
    """Largest change in outputs before position t when inputs at >= t are changed."""
    x2 = x.copy()
    x2[:, t:] = np.random.default_rng(1).permutation(x2[:, t:].ravel()).reshape(x2[:, t:].shape) + 1
    y, y2 = np.asarray(f(x)), np.asarray(f(x2))
    return np.abs(y[:, :t] - y2[:, :t]).max(), np.abs(y[:, t:] - y2[:, t:]).max()


@pytest.mark.parametrize("arch", BACKBONES)
def test_backbone_is_causal(arch):
    backbone = build_backbone(arch, **TINY[arch])
    x = np.random.default_rng(0).normal(size=(2, 24, 3)).astype("float32")
    before, after = _changes_before(backbone, x, 13)
    assert before == 0.0 and after > 0


@pytest.mark.parametrize("arch", ["wavenet", "reference", "transformer"])
def test_chorale_model_is_causal_and_round_trips(arch, tmp_path):
    model = build_chorale_model(arch, Vocabulary(), **TINY[arch])
    tokens = np.random.default_rng(0).integers(0, 40, (2, 37)).astype("int32")
    before, after = _changes_before(model, tokens, 17)
    assert before == 0.0 and after > 0
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(tokens, verbose=0), model.predict(tokens, verbose=0))


def test_gated_wavenet_is_causal():
    backbone = build_backbone("wavenet", filters=4, dilations=(1, 2), gated=True, dropout=0.1)
    x = np.random.default_rng(0).normal(size=(1, 12, 2)).astype("float32")
    assert _changes_before(backbone, x, 5)[0] == 0.0


def test_reference_has_the_books_size():
    model = build_chorale_model("reference", Vocabulary(36, 81))
    assert model.count_params() == 396_810
    assert model.output_shape == (None, None, 47)


def test_strided_conv_gru_shortens_time():
    backbone = build_backbone("conv-gru", kernel_size=4, strides=2, units=5)
    assert backbone(np.zeros((1, 50, 1), "float32")).shape == (1, 25, 5)


@pytest.mark.parametrize("arch, options", [("perceiver", {}), ("gru", {"filters": 3})])
def test_bad_arch_or_option(arch, options):
    with pytest.raises(ChoraleError):
        build_backbone(arch, **options)
