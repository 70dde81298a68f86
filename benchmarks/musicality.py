"""How Bach-like are our chorales? Samples and harmonizations of two models vs real Bach.

    python benchmarks/musicality.py [--default DIR] [--reference DIR] [--samples 50] [--harmonizations 20]

- Samples: `--samples` chorales from each model as `chorale generate` writes them by
  default (16 bars, `--temperature` 1, range guard, voice-leading guard, seeds 0..N-1, each
  continuing the first two bars of the held-out chorale its seed picks). Only the sampled
  14 bars are scored: the primer is Bach's.
- Real Bach: the first `--samples` chorales of the test split. The histograms are matched
  against the whole test split, the voice ranges against every split.
- Harmonizations: the sopranos of the first `--harmonizations` test chorales, harmonized by
  each model (`--candidates` per melody, seed i for melody i), compared with Bach's own
  alto, tenor and bass (share of equal 16th steps) and scored like the rest.
- Form rows: the cadences at fermatas use the manifest's fermatas and key for Bach and for
  harmonizations (same melody); samples have no fermatas, so that row is '-' for them.

Columns: Bach (N test chorales), default and reference (their samples), Bach 20 (the
chorales whose sopranos are harmonized), default harm and reference harm (harmonizations).
The "unguarded default" columns are the default model without the voice-leading guard
(`--no-voice-leading`), to show what the guard changes.
Prints the table and writes benchmarks/results/musicality.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from chorale import music
from chorale.data.loader import load
from chorale.encoding import STEPS_PER_BAR
from chorale.io.files import atomic_write, bundled
from chorale.sampling.harmonize import harmonize
from chorale.model.run import load_sampler
from chorale.sampling.sample import PRIMER_STEPS, Controls, generate, primer_grid

RESULTS = Path(__file__).parent / "results" / "musicality.json"
BARS = 16
PUBLISHED_BACH_PARALLELS_PER_NOTE = 0.0016
UNGUARDED = "unguarded default"  # the default model sampled with --no-voice-leading


def samples(model_dir, count: int, temperature: float, voice_leading: bool = True):
    """`count` chorales as `chorale generate --seed i` writes them, primer cut off."""
    sampler, card, vocab = load_sampler(model_dir)
    seeds = list(range(count))
    primers = [primer_grid(None, s) for s in seeds]
    controls = Controls(temperature=temperature, voice_ranges=card["voice_ranges"], voice_leading=voice_leading)
    grids, _ = generate(sampler, vocab, primers, BARS * STEPS_PER_BAR, seeds, controls)
    return [g[PRIMER_STEPS:] for g in grids]


def harmonizations(model_dir, chorales, candidates: int, temperature: float, voice_leading: bool = True):
    sampler, card, vocab = load_sampler(model_dir)
    return [harmonize(sampler, vocab, c.notes[:, 0], "soprano", card["voice_ranges"], candidates, seed=i,
                      temperature=temperature, voice_leading=voice_leading).grid
            for i, c in enumerate(chorales)]


def bach_score(chorales, reference):
    """Real chorales scored with their fermatas and keys from the manifest."""
    return music.score([c.notes for c in chorales], reference, fermatas=[c.fermatas for c in chorales],
                       keys=[c.key for c in chorales])


def melody_form(grids, melodies) -> dict:
    """A harmonization keeps its melody's fermatas, and its key unless it was transposed."""
    kept = [np.array_equal(g[:, 0], c.notes[:, 0]) for g, c in zip(grids, melodies)]
    return {"fermatas": [c.fermatas if k else None for c, k in zip(melodies, kept)],
            "keys": [c.key if k else None for c, k in zip(melodies, kept)]}


def closer(ours, theirs, bach) -> bool | None:
    """Whether ours is nearer Bach's value than theirs; None for a tie or an undefined metric."""
    if None in (ours, theirs, bach) or abs(ours - bach) == abs(theirs - bach):
        return None
    return abs(ours - bach) < abs(theirs - bach)


def better(key, ours, theirs, bach) -> bool | None:
    """Fewer voice-leading faults, or nearer Bach for the other metrics; None for a tie."""
    if key not in music.FAULTS:
        return closer(ours, theirs, bach)
    if None in (ours, theirs) or ours == theirs:
        return None
    return ours < theirs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--default", default=str(bundled("model")), help="Our default model folder.")
    parser.add_argument("--reference", required=True, help="A trained `--arch reference` model folder.")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--harmonizations", type=int, default=20)
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--temperature", type=float, default=1.0, help="For samples and harmonizations.")
    parser.add_argument("--note", default="", help="What was compared, written into the results (e.g. epochs).")
    parser.add_argument("--results", type=Path, default=RESULTS, help="Where to write the JSON results.")
    args = parser.parse_args()

    dataset = load()
    test = dataset["test"]
    reference = music.Reference.of(dataset.notes("test"), ranges_from=[n for s in dataset.splits for n in dataset.notes(s)])
    models = {"default": args.default, "reference": args.reference}
    runs = {"default": (args.default, True), UNGUARDED: (args.default, False),  # (folder, voice-leading guard)
            "reference": (args.reference, True)}
    seconds, columns, agreement = {}, {}, {}
    columns["Bach"] = bach_score(test[: args.samples], reference)
    for name, (folder, guard) in runs.items():
        start = time.perf_counter()
        columns[name] = music.score(samples(folder, args.samples, args.temperature, guard), reference)
        seconds[name] = time.perf_counter() - start
    melodies = test[: args.harmonizations]
    columns[f"Bach {len(melodies)}"] = bach_score(melodies, reference)
    for name, (folder, guard) in runs.items():
        start = time.perf_counter()
        grids = harmonizations(folder, melodies, args.candidates, args.temperature, guard)
        seconds[f"{name} harm"] = time.perf_counter() - start
        columns[f"{name} harm"] = music.score(grids, reference, **melody_form(grids, melodies))
        agreement[f"{name} harm"] = float(np.mean([music.agreement(g, c.notes, given=0)
                                                             for g, c in zip(grids, melodies)]))

    aggregate = {title: scored["aggregate"] for title, scored in columns.items()}
    bach, ours, theirs = aggregate["Bach"], aggregate["default"], aggregate["reference"]
    verdicts = {key: better(key, ours[key], theirs[key], bach[key]) for key, _ in music.METRICS}
    nearer = {key: closer(ours[key], theirs[key], bach[key]) for key, _ in music.METRICS}
    ratio = ours["parallels_per_note"] / bach["parallels_per_note"]
    summary = {
        "parallels_per_note_vs_bach": ratio,
        "parallels_per_note_vs_bach_without_guard":
            aggregate[UNGUARDED]["parallels_per_note"] / bach["parallels_per_note"],
        "within_3x_of_bach": ratio <= 3,
        "default_better": sum(v is True for v in verdicts.values()),
        "reference_better": sum(v is False for v in verdicts.values()),
        "ties": sum(v is None for v in verdicts.values()),
        "per_metric": verdicts,
        "nearer_bach_on_every_metric": {"default": sum(v is True for v in nearer.values()),
                                        "reference": sum(v is False for v in nearer.values()),
                                        "ties": sum(v is None for v in nearer.values()), "per_metric": nearer},
        "agreement_with_bach": agreement,
    }
    text = music.table(aggregate)
    agree = "  ".join(f"{k}: {v:.3f}" for k, v in agreement.items())
    print("Samples and harmonizations use the voice-leading guard, as generate and harmonize do by default;\n"
          f"'{UNGUARDED}' is the default model with --no-voice-leading.\n")
    print(text)
    print(f"\nShare of alto/tenor/bass 16ths equal to Bach's: {agree}")
    print(f"Parallel 5ths+8ves per note: default {ours['parallels_per_note']:.4f}, Bach {bach['parallels_per_note']:.4f} "
          f"(published: about {PUBLISHED_BACH_PARALLELS_PER_NOTE}), ratio {ratio:.2f} "
          f"({'within' if ratio <= 3 else 'NOT within'} 3x; without the guard "
          f"{summary['parallels_per_note_vs_bach_without_guard']:.1f}x)")
    print(f"Default better than the reference (fewer faults, else nearer Bach) on {summary['default_better']} of "
          f"{len(verdicts)} metrics (reference better on {summary['reference_better']}, ties {summary['ties']})")
    n = summary["nearer_bach_on_every_metric"]
    print(f"Nearer Bach's own value, faults included: default on {n['default']}, reference on {n['reference']}, "
          f"ties {n['ties']}")
    with atomic_write(args.results) as f:
        json.dump({"models": models, "voice_leading_guard": True, "unguarded_columns": [UNGUARDED, f"{UNGUARDED} harm"],
                   "note": args.note, "samples": args.samples,
                   "harmonizations": args.harmonizations, "candidates": args.candidates, "bars": BARS,
                   "temperature": args.temperature,
                   "primer_steps_excluded": PRIMER_STEPS, "seconds": seconds, "summary": summary,
                   "aggregate": aggregate, "table": text}, f, indent=2)
    print(f"Wrote {args.results}")


if __name__ == "__main__":
    main()
