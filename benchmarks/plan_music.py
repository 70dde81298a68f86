"""Does the plan change the music? Sample 16-bar chorales from the default primers with and
without a plan (the primer chorale's key, a fermata every two bars, the length, a held
final chord) and compare how often the last two bars are in the planned key and the last
bass note is its tonic. Writes benchmarks/results/plan_music.json.

    python benchmarks/plan_music.py [--model DIR] [--count 40]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from chorale.data.loader import load
from chorale.encoding import REST, STEPS_PER_BAR
from chorale.io.files import atomic_write, bundled
from chorale.keys import best_key, parse_key
from chorale.model.plan import Plan
from chorale.sampling.cache import load_sampler
from chorale.sampling.sample import Controls, generate, primer_grid

RESULTS = Path(__file__).resolve().parent / "results" / "plan_music.json"
STEPS = 16 * STEPS_PER_BAR
FERMATAS = tuple(range(2 * STEPS_PER_BAR - 4, STEPS - 8, 2 * STEPS_PER_BAR)) + (STEPS - 1,)  # beat 3 of every 2nd bar


def ending_stats(grids, keys) -> dict:
    closing = [best_key(g[-2 * STEPS_PER_BAR:])[:2] == k for g, k in zip(grids, keys)]
    bass = [g[:, 3][g[:, 3] != REST] for g in grids]
    tonic = [b.size and b[-1] % 12 == k[0] for b, k in zip(bass, keys)]
    return {"closing_key_is_planned_key": float(np.mean(closing)), "last_bass_on_tonic": float(np.mean(tonic))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(bundled("model")))
    parser.add_argument("--count", type=int, default=40)
    args = parser.parse_args()
    sampler, card, vocab = load_sampler(args.model)
    test = load()["test"]
    seeds = list(range(args.count))
    primers = [primer_grid(None, s) for s in seeds]
    keys = [parse_key(test[s % len(test)].key) for s in seeds]
    controls = Controls(voice_ranges=card["voice_ranges"])
    full = [Plan(k, FERMATAS, STEPS) for k in keys]
    runs = {"none": (None, 1), "key": ([Plan(k) for k in keys], 1), "key, fermatas, length": (full, 1),
            "key, fermatas, length, plan weight 2": (full, 2), "key, fermatas, length, plan weight 4": (full, 4)}
    result = {"model": args.model, "samples": args.count, "bars": 16}
    for name, (plan, weight) in runs.items():
        grids, _ = generate(sampler, vocab, primers, STEPS, seeds, replace(controls, plan_weight=weight), plan)
        result[name] = ending_stats(grids, keys)
        print(name, result[name], flush=True)
    with atomic_write(RESULTS) as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
