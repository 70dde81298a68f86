"""Regenerate a region: rewrite some voices in some bars and keep every other note exactly.

The model reads left to right, so while it writes the region it cannot see the music
after it. The music after it still judges each candidate: K candidates are sampled in one
batch, every note outside the region forced as it is, and the one with the fewest
voice-leading errors (on the whole piece, so the joins at both ends count) is kept; ties
go to the highest log-likelihood of everything from the region's first note to the end,
the notes after the region included. A region that fits what follows makes that music
likely; one that does not, makes it unlikely.
"""

from __future__ import annotations

import numpy as np

from chorale.encoding import N_VOICES, UNSAMPLED, Vocabulary
from chorale.model.plan import Plan
from chorale.music import voice_leading_errors
from chorale.sampling.harmonize import Harmonization, best_candidate
from chorale.sampling.sample import Controls, log_softmax, sample


def log_likelihoods(sampler, tokens: np.ndarray) -> np.ndarray:
    """(batch, length - 1) log-probability the model gives each token after the first,
    reading `tokens` (batch, length) left to right: teacher forcing on the NumPy stepper."""
    tokens = np.asarray(tokens, np.int64)
    stepper = sampler.stepper(len(tokens))
    out = np.empty((len(tokens), tokens.shape[1] - 1))
    rows = np.arange(len(tokens))
    for t in range(tokens.shape[1] - 1):
        out[:, t] = log_softmax(stepper(tokens[:, t], t).astype(np.float64))[rows, tokens[:, t + 1]]
    return out


def regenerate(sampler, vocab: Vocabulary, grid: np.ndarray, region: np.ndarray, voice_ranges, candidates: int,
               seed: int, temperature: float = 1.0, voice_leading: bool = True, plan: Plan | None = None,
               progress=None) -> Harmonization:
    """Rewrite the cells of `grid` (steps, 4) where `region` (steps, 4 bool) is true, following
    `plan` (its key, fermatas and length; None: nothing known).

    Candidate i uses seed + i. When the very first note is to be written, the model starts
    from a rest chord (as `--primer none` does), which is then dropped.
    """
    lead = int(region[0, 0])  # the sampler needs its first token given
    if plan is not None and lead:
        plan = Plan(plan.key, None if plan.fermatas is None else tuple(f + 1 for f in plan.fermatas), plan.length + 1)
    grid = np.concatenate([np.zeros((lead, N_VOICES), grid.dtype), grid])
    region = np.concatenate([np.zeros((lead, N_VOICES), bool), region])
    tokens = np.where(region.reshape(-1), UNSAMPLED, vocab.encode(grid))
    controls = Controls(temperature=temperature, voice_ranges=np.asarray(voice_ranges), voice_leading=voice_leading)
    sampled, _ = sample(sampler, vocab, np.tile(tokens, (candidates, 1)), [seed + i for i in range(candidates)],
                        controls, progress, None if plan is None else [plan] * candidates)
    first = int(np.flatnonzero(region.reshape(-1))[0])
    logliks = log_likelihoods(sampler, sampled)[:, first - 1:].mean(axis=1)  # token t+1's row is t
    grids = [vocab.decode(row)[lead:] for row in sampled]
    errors = np.array([voice_leading_errors(g) for g in grids])
    chosen = best_candidate(errors, logliks)
    return Harmonization(grids[chosen], chosen, logliks, errors)
