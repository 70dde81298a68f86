"""Look-ahead: the masks training draws, no leak of unknown notes, the stepper exact with
the encoder, the evaluate protocols by hand, and the bundled model's harmonize/regenerate."""

import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from chorale import ChoraleError  # noqa: E402
from chorale.io.csvfile import write_csv  # noqa: E402
from chorale.encoding import N_VOICES, UNSAMPLED, Vocabulary  # noqa: E402
from chorale.model.evaluate import evaluate, regions_unknown, soprano_known  # noqa: E402
from chorale.model.masks import KINDS, known_ids, random_known  # noqa: E402
from chorale.model.plan import SIZES  # noqa: E402
from chorale.model.train import batches  # noqa: E402
from chorale.sampling.sample import sample  # noqa: E402
from chorale.sampling.stepper import Sampler  # noqa: E402

VOCAB = Vocabulary(36, 81)  # the randomized models' vocabulary (tests/conftest.py)

STEPS = 33


def kind_of(mask: np.ndarray) -> str:
    """Which of masks.KINDS a (steps, 4) known mask is (cells: anything else)."""
    unknown = ~mask
    if unknown.all():
        return "nothing"
    whole_voices = mask.all(axis=0)
    if (mask == whole_voices).all():
        return {1: "voice", 2: "voices"}.get(int(whole_voices.sum()), "cells")
    steps = np.flatnonzero(unknown.any(axis=1))
    if (np.diff(steps) == 1).all() and (unknown[steps] == unknown[steps[0]]).all():
        return "region"
    return "cells"


def test_training_draws_every_kind_of_mask():
    known = random_known(2000, STEPS, np.random.default_rng(0)).reshape(2000, STEPS, N_VOICES)
    kinds = [kind_of(k) for k in known]
    assert set(kinds) == set(KINDS)
    singles = known[[k == "voice" for k in kinds]].all(axis=1)
    assert (singles.sum(axis=1) == 1).all() and set(singles.argmax(axis=1)) == {0, 1, 2, 3}  # any of S, A, T, B
    regions = known[[k == "region" for k in kinds]]
    assert (regions.any(axis=(1, 2))).all() and (~regions).any(axis=(1, 2)).all()


def test_batches_give_known_values_only_where_known_and_weigh_the_unknown(randomized):
    x = np.random.default_rng(1).integers(1, VOCAB.size, (32, STEPS * N_VOICES))
    for inputs, targets, weights in batches(x, 8, 3, 0, 1, 4, look_ahead=True):
        known = inputs["known"] > 0
        np.testing.assert_array_equal(inputs["known"][known] - 1, inputs["tokens"][known])
        assert set(np.unique(weights)) <= {0.0, 1.0}
        # a target is weighed exactly when the cell is unknown; the inputs' known cells are the targets' cells one earlier
        np.testing.assert_array_equal(known[:, 1:], weights[:, :-1] == 0)


def look_ahead_model(randomized, seed=0):
    model = randomized("wavenet", seed, plan=True, look_ahead=dict(filters=8, dilations=(1, 2, 4)))
    rng = np.random.default_rng(seed)
    for v in model.weights:  # the encoder's output starts small: make it matter
        if "look_ahead" in v.path:
            v.assign(rng.normal(0, 0.3, v.shape).astype("float32"))
    return model


def test_the_stepper_with_the_encoder_equals_the_full_model(randomized):
    model = look_ahead_model(randomized)
    rng = np.random.default_rng(2)
    tokens = rng.integers(0, VOCAB.size, (2, 160)).astype("int32")
    rows = np.stack([rng.integers(0, n, (2, 160)) for n in SIZES], axis=-1).astype("int32")
    known = known_ids(tokens, random_known(2, 40, rng))
    full = np.asarray(model.predict({"tokens": tokens, "plan": rows, "known": known}, verbose=0))
    stepper = Sampler.from_model(model).stepper(2, known)
    stepped = np.stack([stepper(tokens[:, t], t, rows[:, t]) for t in range(160)], axis=1)
    assert np.abs(full - stepped).max() <= 1e-4


def test_unknown_notes_never_leak_and_known_ones_ahead_are_seen(randomized):
    model = look_ahead_model(randomized, 1)
    rng = np.random.default_rng(3)
    tokens = rng.integers(1, VOCAB.size, (1, 128)).astype("int32")
    known = np.zeros((1, 128), bool)
    known[0, ::N_VOICES] = True  # the soprano is given
    changed = tokens.copy()
    changed[0, 64:][~known[0, 64:]] = rng.integers(1, VOCAB.size, (~known[0, 64:]).sum())  # hidden notes from 64 on

    def logits(t):
        return np.asarray(model({"tokens": t, "plan": np.zeros((1, 128, 3), "int32"), "known": known_ids(t, known)}))

    before, after = logits(tokens), logits(changed)
    np.testing.assert_array_equal(before[:, :63], after[:, :63])  # nothing before the changed notes moves
    ahead = tokens.copy()
    ahead[0, 80] = (ahead[0, 80] % (VOCAB.size - 1)) + 1  # a known soprano note, further on
    assert np.abs(logits(ahead)[:, :79] - before[:, :79]).max() > 1e-4  # is seen from before it


def test_sampling_reads_every_given_note_before_the_first(randomized):
    sampler = Sampler.from_model(look_ahead_model(randomized, 2))
    forced = np.full((1, 64), UNSAMPLED)
    forced[0, 0] = 30
    forced[0, 40::4] = 25  # a melody from step 10 on (the encoder sees 7 tokens either way)
    a, a_loglik = sample(sampler, VOCAB, forced, [4])
    forced[0, 44] = 20  # only a note ahead of the first sampled steps' differs
    b, b_loglik = sample(sampler, VOCAB, forced, [4])
    assert a_loglik != b_loglik  # the notes written before it were drawn from other odds: it was seen
    assert a[0, 44] == 25 and b[0, 44] == 20 and (a[0, 48::4] == 25).all()


def test_a_model_with_look_ahead_needs_the_known_cells(randomized):
    with pytest.raises(ChoraleError, match="known cells"):
        Sampler.from_model(look_ahead_model(randomized)).stepper(1)


# ------------------------------------------------------------------ the evaluate protocols, by hand (CHORD:
# tokens 3, 2, 1, 0 every step, under constant_run's distribution P = 0.1, 0.2, 0.3, 0.4 over the 4 tokens)
CHORD = [62, 61, 60, 0]
@pytest.fixture(scope="module")
def constant_model(tmp_path_factory, constant_run):
    """A look-ahead model whose logits ignore every input (log P), and a dataset."""
    folder = constant_run(tmp_path_factory.mktemp("model"), look_ahead=True)
    data = tmp_path_factory.mktemp("data")
    (data / "test").mkdir()
    write_csv(data / "test" / "chorale_000.csv", np.array([CHORD] * 33))  # one 2-bar region (32 steps)
    write_csv(data / "test" / "chorale_001.csv", np.array([CHORD] * 20))  # none
    return folder, data


def test_protocol_masks():
    assert soprano_known(8).tolist() == [[True, False, False, False] * 2]
    regions = regions_unknown(33 * 4)
    assert regions.shape == (1, 132) and not regions[0, :128].any() and regions[0, 128:].all()
    assert regions_unknown(20 * 4).shape == (0, 80)


def test_protocols_by_hand(constant_model):
    r = evaluate(*constant_model, "test")
    alto, tenor, bass, soprano = (-math.log(p) for p in (0.3, 0.2, 0.1, 0.4))
    # harmonize: alto, tenor and bass of every step of both chorales, 33 + 20 of each
    h = r["harmonize"]
    assert h["look_ahead"]["tokens"] == h["left_to_right"]["tokens"] == 3 * 53
    assert h["look_ahead"]["nll"] == pytest.approx((alto + tenor + bass) / 3)
    assert set(h["look_ahead"]["per_voice"]) == {"alto", "tenor", "bass"}
    assert h["gain"] == pytest.approx(0)
    # infill: the first chorale's steps 0-31 (its first token is never predicted): 31 sopranos, 32 of the rest
    i = r["infill"]
    assert i["look_ahead"]["tokens"] == 127
    assert i["look_ahead"]["nll"] == pytest.approx((31 * soprano + 32 * (alto + tenor + bass)) / 127)


def test_protocols_equal_the_stepper_on_a_random_model(tmp_path, randomized):
    from chorale.model.evaluate import look_ahead_protocols

    model = look_ahead_model(randomized, 4)
    rng = np.random.default_rng(5)
    tokens = [rng.integers(0, VOCAB.size, 36 * 4), rng.integers(0, VOCAB.size, 70 * 4)]
    r = look_ahead_protocols(model, tokens)["infill"]
    sampler = Sampler.from_model(model)
    seen, plain = [], []
    for t in tokens:
        for known in regions_unknown(len(t)):
            for ids, out in ((known_ids(t, known), seen), (np.zeros(len(t), "int32"), plain)):
                stepper = sampler.stepper(1, ids[None])
                for j in range(len(t) - 1):
                    logits = stepper(t[None, j], j)[0].astype(np.float64)
                    if not known[j + 1]:
                        out.append(np.log(np.exp(logits - logits.max()).sum()) + logits.max() - logits[t[j + 1]])
    assert r["look_ahead"]["nll"] == pytest.approx(np.mean(seen), abs=1e-4)
    assert r["left_to_right"]["nll"] == pytest.approx(np.mean(plain), abs=1e-4)
    assert r["look_ahead"]["tokens"] == len(seen)


# ------------------------------------------------------------------ the bundled model
def test_the_model_looks_ahead(model):
    assert model.sampler.looks_ahead and model.card["look_ahead"]


def test_two_given_voices_are_kept_exactly_and_the_others_written(model, piece):
    satb = model.harmonize(piece, voice="soprano,bass", candidates=2, seed=1)
    np.testing.assert_array_equal(satb.grid[:, [0, 3]], piece.grid[:, [0, 3]])
    assert (satb.grid[:, 1:3] != piece.grid[:, 1:3]).any() and (satb.grid[:, 1:3] > 0).all()
    with pytest.raises(ChoraleError, match="all four voices"):
        model.harmonize(piece, voice="soprano,alto,tenor,bass")
    with pytest.raises(ChoraleError, match="a part holds one line"):
        model.harmonize("tune.mid", voice="soprano,bass", part=0)


def test_regenerate_keeps_the_outside_and_the_kept_voice_exactly(model, piece):
    new = model.regenerate(piece, bars=(3, 4), voices="alto,tenor,bass", keep="bass", candidates=3, seed=2)
    changed = new.grid != piece.grid
    assert changed[32:64, 1:3].any()
    changed[32:64, 1:3] = False
    assert not changed.any()


def test_cli_harmonize_keeps_two_voices_and_refuses_bad_ones(tmp_path, piece):
    from click.testing import CliRunner

    from chorale.cli import cli
    from chorale.io.csvfile import read_csv

    source = tmp_path / "in.csv"
    write_csv(source, piece.grid)
    result = CliRunner().invoke(cli, ["harmonize", str(source), "--voice", "Soprano, bass", "--candidates", "2",
                                      "--out", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(read_csv(tmp_path / "out.csv")[:, [0, 3]], piece.grid[:, [0, 3]])
    for bad in ("sopran", "soprano,alto,tenor,bass"):
        result = CliRunner().invoke(cli, ["harmonize", str(source), "--voice", bad, "--out", str(tmp_path / "x.mid")])
        assert result.exit_code == 2 and "--voice" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.mid").exists()
