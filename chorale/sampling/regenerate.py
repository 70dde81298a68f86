"""Regenerate a region: rewrite some voices in some bars and keep every other note exactly.

Every note outside the region is given to the sampler, so a model with look-ahead reads
the music on both sides of the region before it writes its first note, and the region
leads into what follows it (a left-to-right model sees only the music before it). K
candidates are sampled in one batch; the one with the fewest voice-leading errors on the
whole piece (so the joins at both ends count) is kept, ties going to the one that closes
on the planned tonic, then to the highest log-likelihood of its notes, as for harmonize.
"""

from __future__ import annotations

import numpy as np

from chorale.encoding import N_VOICES, UNSAMPLED, Vocabulary
from chorale.model.plan import Plan
from chorale.sampling.harmonize import Harmonization, best_of
from chorale.sampling.sample import Controls


def regenerate(sampler, vocab: Vocabulary, grid: np.ndarray, region: np.ndarray, voice_ranges, candidates: int,
               seed: int, temperature: float = 1.0, voice_leading: bool = True, plan: Plan | None = None,
               progress=None, shaping: dict | None = None) -> Harmonization:
    """Rewrite the cells of `grid` (steps, 4) where `region` (steps, 4 bool) is true, following
    `plan` (its key, fermatas and length; None: nothing known).

    Candidate i uses seed + i. When the very first note is to be written, the model starts
    from a rest chord (as `--primer none` does), which is then dropped. `shaping`: Controls' metre, harmony and tolerance.
    """
    lead = int(region[0, 0])  # the sampler needs its first token given
    if plan is not None and lead:
        plan = Plan(plan.key, None if plan.fermatas is None else tuple(f + 1 for f in plan.fermatas), plan.length + 1)
    grid = np.concatenate([np.zeros((lead, N_VOICES), grid.dtype), grid])
    region = np.concatenate([np.zeros((lead, N_VOICES), bool), region])
    tokens = np.where(region.reshape(-1), UNSAMPLED, vocab.encode(grid))
    controls = Controls(temperature=temperature, voice_ranges=np.asarray(voice_ranges), voice_leading=voice_leading,
                        **(shaping or {}))
    return best_of(sampler, vocab, tokens, candidates, seed, controls, plan, progress, lead)
