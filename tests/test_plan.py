"""The plan (key, fermatas, length): one computation for training and sampling, exact in the
stepper, moved by transposition, hidden in training, and the held final chord."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from chorale import ChoraleError  # noqa: E402
from chorale import Chorale  # noqa: E402
from chorale.data.loader import load  # noqa: E402
from chorale.encoding import N_VOICES, UNSAMPLED, Vocabulary  # noqa: E402
from chorale.keys import best_key  # noqa: E402
from chorale.model.plan import (COLUMNS, FINAL_HOLD, HIDE, HIDE_ALL, SIZES, Plan, chorale_plan,  # noqa: E402
                                ending, hide, plan_rows, transpose_rows)
from chorale.model.inputs import chorale_plans, windows  # noqa: E402
from chorale.model.train import TRANSPOSE, batches  # noqa: E402
from chorale.sampling.sample import Controls, generate, plan_inputs, sample  # noqa: E402
from chorale.sampling.stepper import Sampler  # noqa: E402

VOCAB = Vocabulary(36, 81)  # the randomized models' vocabulary (tests/conftest.py)


def test_plan_rows_say_key_fermata_distance_and_end():
    rows = plan_rows(Plan((2, "minor"), (5, 9), 12), 12)
    assert rows.shape == (12 * N_VOICES, len(COLUMNS)) and rows.max(axis=0).tolist() < list(SIZES)
    step = rows[3::4]  # position 4s + 3 predicts the soprano of step s + 1
    assert (rows[:, 0] == 1 + 12 + 2).all()  # D minor
    # steps 1..11 (the last row repeats step 11): next fermata in 4,3,2,1,0 | 3,2,1,0 | none, none
    assert step[:, 1].tolist() == [3, 2, 2, 2, 1, 2, 2, 2, 1, 5, 5, 5]
    # steps to the end 10..0, then 0 again: buckets 4-15, 1-3, 0
    assert step[:, 2].tolist() == [3] * 7 + [2] * 3 + [1, 1]
    assert not plan_rows(None, 3).any() and not plan_rows(Plan(), 3).any()  # unknown = id 0 everywhere


@pytest.mark.parametrize("bad", [dict(key=(12, "major")), dict(key=(0, "dorian")), dict(length=0),
                                 dict(fermatas=(4,), length=4)])
def test_bad_plans_are_refused(bad):
    with pytest.raises(ChoraleError):
        Plan(**bad)


def test_training_windows_and_the_sampler_get_the_same_plan_rows(randomized):
    chorale = load()["train"][0]
    assert chorale.known_key and chorale.fermatas  # the bundled data has both
    cut = windows(chorale_plans([chorale]))
    sampler = Sampler.from_model(randomized("wavenet", plan=True))
    steps = len(chorale.grid)
    rows, held = plan_inputs(sampler, [chorale_plan(chorale)], steps, 1)
    assert held[0] == steps  # the last fermata is not in the final steps: nothing is held
    for i, window in enumerate(cut):
        np.testing.assert_array_equal(window, rows[0, i * 64: i * 64 + window.shape[0]])


def test_a_chorale_without_a_written_key_gets_the_estimated_one():
    notes = load()["train"][0].grid
    plan = chorale_plan(Chorale(notes))
    assert plan.key == best_key(notes)[:2] and plan.fermatas is None and plan.length == len(notes)


def test_the_key_moves_with_the_transposition():
    rows = plan_rows(Plan((11, "major"), (), 40), 40)
    np.testing.assert_array_equal(transpose_rows(rows, 2)[:, 0], 1 + 1)  # B major + 2 = C# major
    np.testing.assert_array_equal(transpose_rows(rows, -3)[:, 1:], rows[:, 1:])
    minor = plan_rows(Plan((0, "minor"), None, 40), 40)
    assert (transpose_rows(minor, -1)[:, 0] == 1 + 12 + 11).all()
    assert not transpose_rows(plan_rows(None, 4), 3).any()  # unknown stays unknown
    # in training batches, each window's key moves by the window's own shift
    x = np.tile(VOCAB.encode(np.array([[72, 67, 64, 48]] * 33)), (8, 1))
    plan = np.tile(plan_rows(Plan((0, "major"), None, 33), 33), (8, 1, 1))
    shifts = np.ones((8, len(TRANSPOSE)), bool)
    for inputs, _ in batches(x, 8, seed=3, start=0, epochs=4, steps=1, shifts=shifts, plan=plan):
        tokens, p = inputs["tokens"], inputs["plan"]
        moved = tokens[:, 0] - x[0, 0]
        shown = p[:, 0, 0] > 0
        assert shown.any() and (p[:, :, 0] == p[:, :1, 0]).all()
        np.testing.assert_array_equal(p[shown, 0, 0], 1 + moved[shown] % 12)


def test_hiding_drops_whole_columns_of_whole_windows():
    rows = np.ones((4000, 5, 3), np.int32)
    hidden = hide(rows, np.random.default_rng(0))
    assert (hidden.min(axis=1) == hidden.max(axis=1)).all()  # a part is hidden in a whole window or not at all
    nothing = (hidden[:, 0] == 0).all(axis=1).mean()
    assert abs(nothing - (HIDE_ALL + (1 - HIDE_ALL) * HIDE**3)) < 0.03  # no plan: as often as a plan
    assert abs((hidden[:, 0, 0] == 0).mean() - (HIDE_ALL + (1 - HIDE_ALL) * HIDE)) < 0.03


def test_stepper_with_a_plan_equals_the_full_model(randomized):
    model = randomized("wavenet", plan=True)
    rng = np.random.default_rng(1)
    tokens = rng.integers(0, VOCAB.size, size=(2, 200)).astype("int32")
    rows = np.stack([rng.integers(0, n, size=(2, 200)) for n in SIZES], axis=-1).astype("int32")
    full = np.asarray(model.predict([tokens, rows], verbose=0))
    stepper = Sampler.from_model(model).stepper(batch=2)
    stepped = np.stack([stepper(tokens[:, t], t, rows[:, t]) for t in range(200)], axis=1)
    assert np.abs(full - stepped).max() <= 1e-4
    # no plan: every part unknown
    unknown = np.asarray(model.predict([tokens, np.zeros_like(rows)], verbose=0))
    stepper = Sampler.from_model(model).stepper(batch=2)
    stepped = np.stack([stepper(tokens[:, t], t) for t in range(200)], axis=1)
    assert np.abs(unknown - stepped).max() <= 1e-4


def test_a_plan_for_a_model_without_one_is_an_error(randomized):
    forced = np.full((1, 64), UNSAMPLED)
    forced[0, :4] = VOCAB.encode(np.array([[72, 67, 64, 48]]))
    with pytest.raises(ChoraleError, match="trained without a plan"):
        sample(randomized("wavenet"), VOCAB, forced, [0], plans=[Plan(key=(0, "major"))])
    sample(randomized("wavenet"), VOCAB, forced, [0], plans=[None])  # nothing known: fine


def test_a_final_fermata_holds_the_final_chord(randomized):
    steps = 48
    assert ending(Plan(fermatas=(20, steps - 1)), steps) == (Plan(fermatas=(20, steps - FINAL_HOLD)),
                                                           steps - FINAL_HOLD + 1)
    assert ending(Plan(fermatas=(20,)), steps)[1] is None
    sampler = Sampler.from_model(randomized("wavenet", plan=True))
    primer = np.array([[72, 67, 64, 48]] * 4)
    plans = [Plan((0, "major"), (16, steps - 1), steps), None]
    grids, _ = generate(sampler, VOCAB, [primer] * 2, steps, [1, 1], Controls(), plans)
    final = grids[0][steps - FINAL_HOLD]
    assert (grids[0][steps - FINAL_HOLD:] == final).all()
    assert not (grids[1][steps - FINAL_HOLD:] == grids[1][steps - FINAL_HOLD]).all()  # no plan: no hold
    with pytest.raises(ChoraleError, match="plan is for 40 steps"):
        generate(sampler, VOCAB, [primer], steps, [1], Controls(), [Plan(length=40)])


def test_plan_weight_interpolates_between_no_plan_and_the_plan(randomized):
    """Weight 1 is the model with its plan, weight 0 the model without one (the same draws;
    keyless plans, since a key also shapes the cadences whatever the weight)."""
    sampler = Sampler.from_model(randomized("wavenet", plan=True, seed=4))
    forced = np.full((2, 160), UNSAMPLED)
    forced[:, :4] = VOCAB.encode(np.array([[72, 67, 64, 48]]))
    plans = [Plan((7, "major"), (15, 30), 40)] * 2
    with_plan, ll = sample(sampler, VOCAB, forced, [1, 2], plans=plans)
    np.testing.assert_array_equal(sample(sampler, VOCAB, forced, [1, 2], Controls(plan_weight=1.0), plans=plans)[0],
                                  with_plan)
    without, _ = sample(sampler, VOCAB, forced, [1, 2])
    keyless = [Plan(None, (15, 30), 40)] * 2
    np.testing.assert_array_equal(sample(sampler, VOCAB, forced, [1, 2], Controls(plan_weight=0.0), plans=keyless)[0],
                                  without)
    strong, strong_ll = sample(sampler, VOCAB, forced, [1, 2], Controls(plan_weight=4.0), plans=plans)
    assert not np.array_equal(strong, with_plan) and np.isfinite(strong_ll).all()
    with pytest.raises(ChoraleError, match="plan weight"):
        Controls(plan_weight=-1)


def test_a_model_of_another_plan_version_is_refused(tmp_path):
    import json
    import shutil

    from chorale.io.files import bundled
    from chorale.sampling.cache import load_sampler

    shutil.copytree(bundled("model"), tmp_path / "m")
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    (tmp_path / "m" / "card.json").write_text(json.dumps({**card, "plan": 99}))
    with pytest.raises(ChoraleError, match="plan version 99"):
        load_sampler(tmp_path / "m")
