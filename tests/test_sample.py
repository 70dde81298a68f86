"""The incremental sampler: exact against the full model, and the sampling controls."""

import numpy as np
import pytest

from chorale import ChoraleError, music
from chorale.encoding import Vocabulary
from chorale.model.outputs import log_softmax
from chorale.sampling.sample import Controls, allowed_tokens, next_token_probs, sample
from chorale.sampling.stepper import Sampler
from chorale.registry import BACKBONES

VOCAB = Vocabulary(36, 81)  # the randomized models' vocabulary (tests/conftest.py)
@pytest.mark.parametrize("arch", BACKBONES)
def test_incremental_step_equals_full_model(arch, randomized):
    model = randomized(arch)
    tokens = np.random.default_rng(1).integers(0, VOCAB.size, size=(2, 256)).astype("int32")
    full = np.asarray(model.predict(tokens, verbose=0))
    stepper = Sampler.from_model(model).stepper(batch=2)
    stepped = np.stack([stepper(tokens[:, t], t) for t in range(tokens.shape[1])], axis=1)
    assert np.abs(full - stepped).max() <= 1e-4


def test_gated_wavenet_is_exact_too(randomized):
    model = randomized("wavenet", gated=True)
    tokens = np.random.default_rng(2).integers(0, VOCAB.size, size=(1, 64)).astype("int32")
    stepper = Sampler.from_model(model).stepper()
    stepped = np.stack([stepper(tokens[:, t], t) for t in range(64)], axis=1)
    assert np.abs(np.asarray(model.predict(tokens, verbose=0)) - stepped).max() <= 1e-4


def test_batch_equals_one_by_one_and_seed_is_deterministic(randomized):
    model = randomized("gru")
    forced = np.full((3, 40), -1)
    forced[:, :4] = VOCAB.encode(np.array([[72, 67, 64, 48]]))
    batch, ll = sample(model, VOCAB, forced, seeds=[5, 6, 7])
    for i, seed in enumerate([5, 6, 7]):
        alone, ll_alone = sample(model, VOCAB, forced[i:i + 1], seeds=[seed])
        np.testing.assert_array_equal(batch[i], alone[0])
        assert ll[i] == pytest.approx(ll_alone[0], abs=1e-5)
    assert not np.array_equal(batch[0], batch[1])
    again, _ = sample(model, VOCAB, forced, seeds=[5, 6, 7])
    np.testing.assert_array_equal(batch, again)


def test_forced_tokens_are_kept_and_range_guard_holds(randomized):
    model = randomized("wavenet")
    ranges = np.array([[60, 79], [55, 74], [48, 69], [36, 62]])
    forced = np.full((4, 400), -1)
    forced[:, :4] = VOCAB.encode(np.array([[72, 67, 64, 48]]))
    forced[:, 4::4] = VOCAB.encode(np.array([[70, 0, 0, 0]]))[0]  # a melody held fixed
    tokens, _ = sample(model, VOCAB, forced, seeds=range(4), controls=Controls(voice_ranges=ranges))
    assert (tokens[:, 4::4] == forced[:, 4::4]).all()
    chords = np.stack([VOCAB.decode(t) for t in tokens])
    for v, (low, high) in enumerate(ranges):
        sung = chords[:, :, v][chords[:, :, v] > 0]
        assert sung.min() >= low and sung.max() <= high


def test_controls_on_a_toy_distribution():
    logits = np.log(np.array([[0.05, 0.5, 0.3, 0.15]]))
    everything = np.ones(4, bool)
    np.testing.assert_allclose(next_token_probs(logits, Controls(), everything), [[0.05, 0.5, 0.3, 0.15]])
    np.testing.assert_array_equal(next_token_probs(logits, Controls(greedy=True), everything), [[0, 1, 0, 0]])
    np.testing.assert_allclose(next_token_probs(logits, Controls(top_k=2), everything), [[0, 0.625, 0.375, 0]])
    # top-p 0.7: 0.5 alone is not enough, 0.5 + 0.3 reaches it
    np.testing.assert_allclose(next_token_probs(logits, Controls(top_p=0.7), everything), [[0, 0.625, 0.375, 0]])
    np.testing.assert_allclose(next_token_probs(logits, Controls(top_p=0.5), everything), [[0, 1, 0, 0]])
    cold = next_token_probs(logits, Controls(temperature=0.5), everything)
    np.testing.assert_allclose(cold, np.array([[0.05, 0.5, 0.3, 0.15]]) ** 2 / 0.365)
    masked = next_token_probs(logits, Controls(), np.array([True, False, True, True]))
    np.testing.assert_allclose(masked, [[0.1, 0, 0.6, 0.3]])


def test_allowed_tokens_keep_the_rest():
    mask = allowed_tokens(VOCAB, [[60, 61], [36, 36], [81, 81], [50, 52]])
    assert mask[:, 0].all()
    assert mask[0].sum() == 3 and mask[0, 60 - 35] and mask[0, 61 - 35]
    assert mask[2, VOCAB.size - 1] and mask[3].sum() == 4


@pytest.mark.parametrize("bad", [dict(temperature=0), dict(top_k=0), dict(top_p=0.0), dict(top_p=1.5)])
def test_bad_controls_are_refused(bad):
    with pytest.raises(ChoraleError):
        Controls(**bad)


# ---------------------------------------------------------------------------- voice-leading guard
def parallels(grid) -> int:
    motion = music._motion(grid)
    return motion["parallel_fifths"] + motion["parallel_octaves"]


def guarded_faults(grid) -> int:
    """What the guard prevents: parallel 5ths/8ves, hidden ones between soprano and bass,
    and crossed voices."""
    motion = music._motion(grid)
    return (parallels(grid) + motion["hidden_fifths"] + motion["hidden_octaves"]
            + music._chord_faults(grid)["crossings"])


class Scripted(Sampler):
    """A stand-in model that puts almost all its probability on the next token of `script`,
    and next to none on a rest it does not script (a redrawn note is a pitch)."""

    def __init__(self, script):
        super().__init__([])
        self.script = script

    def stepper(self, batch=1, known=None, start=0, stop=None):
        def step(tokens, t, plan=None):
            logits = np.zeros((batch, VOCAB.size), np.float32)
            logits[:, 0] = -30.0
            logits[:, self.script[t + 1]] = 30.0
            return logits
        return step


# tenor and bass move a tone in parallel fifths, alto and bass in octaves, at every change
PLANTED = np.array([[64, 60, 55, 48], [65, 62, 57, 50]] * 8)


def test_guard_refuses_a_planted_parallel_and_off_keeps_it():
    forced = np.full((2, PLANTED.size), -1)
    forced[:, :4] = VOCAB.encode(PLANTED[:1])
    model = Scripted(VOCAB.encode(PLANTED))
    unguarded, _ = sample(model, VOCAB, forced, seeds=[0, 1], controls=Controls(voice_leading=False))
    guarded, _ = sample(model, VOCAB, forced, seeds=[0, 1])
    for off, on in zip(unguarded, guarded):
        np.testing.assert_array_equal(VOCAB.decode(off), PLANTED)
        assert parallels(PLANTED) == 2 * (len(PLANTED) - 1)
        grid = VOCAB.decode(on)
        assert parallels(grid) == 0
        np.testing.assert_array_equal(grid[:, :3], PLANTED[:, :3])  # only the bass completes them
        assert grid[1, 3] != PLANTED[1, 3] and (grid[:, 3] > 0).all()  # refused, and not by a rest


# soprano leaps up a fourth to C while the bass steps up to C: a hidden octave, nothing parallel
HIDDEN = np.array([[67, 60, 52, 46], [72, 64, 55, 48]] * 8)


@pytest.mark.parametrize("given", [None, 0, 3])
def test_guard_refuses_a_planted_hidden_octave_from_either_outer_voice(given):
    """The bass is refused when the soprano is known; with the bass given (harmonizing a bass
    line), the soprano is refused instead."""
    forced = np.full((1, HIDDEN.size), -1)
    forced[:, :4] = VOCAB.encode(HIDDEN[:1])
    if given is not None:
        forced[0, given::4] = VOCAB.encode(HIDDEN)[given::4]
    model = Scripted(VOCAB.encode(HIDDEN))
    motion = music._motion(HIDDEN)
    assert motion["hidden_octaves"] == len(HIDDEN) // 2 and parallels(HIDDEN) == 0
    unguarded, _ = sample(model, VOCAB, forced, seeds=[0], controls=Controls(voice_leading=False))
    np.testing.assert_array_equal(VOCAB.decode(unguarded[0]), HIDDEN)
    # ranges keep a redrawn outer voice outside the inner ones, so that nothing else must move
    ranges = np.array([[65, 81], [36, 81], [36, 81], [36, 50]])
    guarded, _ = sample(model, VOCAB, forced, seeds=[0], controls=Controls(voice_ranges=ranges))
    grid = VOCAB.decode(guarded[0])
    assert guarded_faults(grid) == 0
    changed = 0 if given == 3 else 3  # the outer voice that is sampled last in its chord, or not given
    np.testing.assert_array_equal(np.delete(grid, changed, axis=1), np.delete(HIDDEN, changed, axis=1))
    assert (grid[1::2, changed] != HIDDEN[1::2, changed]).all()  # every hidden octave was refused


def test_guard_never_forces_a_rest():
    """With the bass's range a single pitch that completes the parallel, the model's note stays."""
    forced = np.full((1, 8), -1)
    forced[:, :4] = VOCAB.encode(PLANTED[:1])
    ranges = np.array([[36, 81], [36, 81], [36, 81], [50, 50]])
    tokens, _ = sample(Scripted(VOCAB.encode(PLANTED)), VOCAB, forced, seeds=[0],
                       controls=Controls(voice_ranges=ranges))
    np.testing.assert_array_equal(VOCAB.decode(tokens[0]), PLANTED[:2])


@pytest.mark.slow
def test_guard_changes_nothing_before_the_first_parallel_and_leaves_none(randomized):
    model = randomized("wavenet", seed=3)
    ranges = np.array([[60, 79], [55, 74], [48, 69], [36, 62]])
    forced = np.full((4, 800), -1)
    forced[:, :4] = VOCAB.encode(np.array([[72, 67, 64, 48]]))
    off, _ = sample(model, VOCAB, forced, seeds=range(4), controls=Controls(voice_ranges=ranges, voice_leading=False))
    on, loglik = sample(model, VOCAB, forced, seeds=range(4), controls=Controls(voice_ranges=ranges))
    for unguarded, guarded in zip(off, on):
        first = np.flatnonzero(unguarded != guarded)[0]
        # the first difference is the note that completes the unguarded sample's first parallel
        # (with a voice before it in its chord: the voices after it are left out as rests)
        assert guarded_faults(VOCAB.decode(unguarded[: first - first % 4])) == 0
        assert guarded_faults(VOCAB.decode(np.pad(unguarded[: first + 1], (0, 3 - first % 4)))) > 0
        assert guarded_faults(VOCAB.decode(guarded)) == 0
    # the reported log-likelihood is the model's, not the guarded distribution's
    chosen = np.take_along_axis(log_softmax(np.asarray(model.predict(on, verbose=0))[:, :-1]), on[:, 1:, None], -1)
    np.testing.assert_allclose(loglik, chosen[:, 3:, 0].mean(axis=1), atol=1e-4)


def test_guard_refuses_a_crossing():
    """The alto would sing above the soprano: it is drawn again, below it."""
    crossed = np.array([[67, 62, 55, 43], [67, 71, 55, 43]] * 4)
    forced = np.full((1, crossed.size), -1)
    forced[:, :4] = VOCAB.encode(crossed[:1])
    unguarded, _ = sample(Scripted(VOCAB.encode(crossed)), VOCAB, forced, seeds=[0],
                          controls=Controls(voice_leading=False))
    assert music._chord_faults(VOCAB.decode(unguarded[0]))["crossings"] > 0
    ranges = np.array([[60, 79], [55, 74], [48, 69], [36, 62]])  # room below each voice for the next
    guarded, _ = sample(Scripted(VOCAB.encode(crossed)), VOCAB, np.repeat(forced, 3, axis=0), seeds=range(3),
                        controls=Controls(voice_ranges=ranges))
    for row in guarded:
        grid = VOCAB.decode(row)
        assert music._chord_faults(grid)["crossings"] == 0 and (grid[1::2, 1] <= 67).all()


def test_a_tolerant_guard_lets_faults_stand_as_often_as_asked():
    """Tolerance 1 for parallels keeps the planted ones (as no guard would); 0 refuses them all."""
    forced = np.full((2, PLANTED.size), -1)
    forced[:, :4] = VOCAB.encode(PLANTED[:1])
    model = Scripted(VOCAB.encode(PLANTED))
    kept, _ = sample(model, VOCAB, forced, seeds=[0, 1], controls=Controls(tolerance=(1.0, 0.0, 0.0)))
    refused, _ = sample(model, VOCAB, forced, seeds=[0, 1], controls=Controls(tolerance=(0.0, 1.0, 1.0)))
    for a, b in zip(kept, refused):
        assert parallels(VOCAB.decode(a)) == parallels(PLANTED) and parallels(VOCAB.decode(b)) == 0
    with pytest.raises(ChoraleError, match="tolerance"):
        Controls(tolerance=(0.5, 2.0, 0.0))


def test_metre_penalty_weighs_onsets_on_odd_16ths_and_syncopations():
    from chorale.sampling.sample import ODD_ONSET, SYNCOPATION, metre_penalty

    previous, started = np.array([5, 5]), np.array([2, 0])  # a note begun off the beat, one on it
    odd = metre_penalty(previous, started, 3, 0, 8, 1.0)
    assert odd[0, 5] == 0 and odd[0, 0] == 0 and odd[0, 6] == ODD_ONSET[0]  # holding and resting are free
    beat = metre_penalty(previous, started, 4, 3, 8, 1.0)
    assert beat[0, 5] == SYNCOPATION[3] and beat[1, 5] == 0 and beat[0, 6] == 0  # only the syncopated hold
    assert not metre_penalty(previous, started, 6, 0, 8, 1.0).any()  # an off-beat 8th: free


def test_harmony_penalty_keeps_the_bass_under_a_chord_on_the_beat():
    from chorale.sampling.sample import harmony_penalty

    upper = VOCAB.encode(np.array([[72, 67, 64, 0]]))[None, :3]  # C G E above
    penalty = harmony_penalty(upper, VOCAB, 1.0)[0]
    pitch = {p: penalty[VOCAB.encode(np.array([[0, 0, 0, p]]))[3]] for p in (48, 55, 50, 45)}
    assert pitch[48] == 0 and pitch[45] == 0  # C: a triad; A: a minor 7th chord
    assert pitch[55] == 0.5 and pitch[50] == 1.0  # G: a 6/4; D: no chord
