"""How Bach-like are our chorales? Samples and harmonizations of two models vs real Bach.

    python benchmarks/musicality.py [--default DIR] [--reference DIR] [--samples 50] [--harmonizations 20]

- Samples: `--samples` chorales from each model as `chorale generate` writes them by
  default (16 bars, `--temperature` as chorale.defaults, range guard, voice-leading guard, seeds 0..N-1, each
  continuing the first two bars of the held-out chorale its seed picks). The style and
  voice-leading rows score only the sampled 14 bars: the primer is Bach's.
- Real Bach: the first `--samples` chorales of the test split. The histograms are matched
  against the whole test split, the voice ranges against every split.
- Harmonizations: the sopranos of the first `--harmonizations` test chorales, harmonized by
  each model (`--candidates` per melody, seed i for melody i), compared with Bach's own
  alto, tenor and bass (share of equal 16th steps) and scored like the rest.
- Form rows (closing key, drift, last bass, cadences at fermatas) are judged on whole
  pieces, each in the key its notes fit best unless it was planned in one: Bach's with the
  manifest's fermatas, samples with their primer and their planned fermatas and key,
  harmonizations with their melody's fermatas.

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

import chorale
from chorale import defaults, music
from chorale.data.loader import load
from chorale.io.files import atomic_write, bundled
from chorale.sampling.sample import PRIMER_STEPS

RESULTS = Path(__file__).parent / "results" / "musicality.json"
BARS = 16
PUBLISHED_BACH_PARALLELS_PER_NOTE = 0.0016
UNGUARDED = "unguarded default"  # the default model sampled with --no-voice-leading


FORM = ("closing_key", "key_drift", "final_bass_tonic", "fermata_cadences")  # judged on whole pieces


def samples(model_dir, count: int, temperature: float, reference, voice_leading: bool = True) -> dict:
    """`count` chorales as `chorale generate --seed i` writes them (seeds 0..count-1), scored:
    the style and voice leading on what the model wrote (the primer is Bach's and is cut
    off), the form rows on the whole piece as it is heard, with its planned fermatas and key
    (does it end in the key it opened with?)."""
    model = chorale.load_model(model_dir)
    pieces = model.generate(0, count=count, bars=BARS, temperature=temperature, voice_leading=voice_leading)
    scored = music.measure([p.grid[PRIMER_STEPS:] for p in pieces], reference)
    whole = music.measure([p.grid for p in pieces], reference, fermatas=[p.fermatas or None for p in pieces],
                        keys=[p.key if p.known_key else None for p in pieces])
    scored["aggregate"].update({k: whole["aggregate"][k] for k in FORM})
    return scored


OTHER_KEYS = ("G major", "E minor", "Bb major")  # beside D minor: one key asked for is a small sample


def keys_asked_for(model_dir, key: str, count: int) -> float:
    """Share of `chorale generate --primer none --key KEY --seed i` (i < count) whose notes,
    all 16 bars, fit KEY best: does a plan alone set the key?"""
    from chorale.keys import best_key, parse_key

    pieces = chorale.load_model(model_dir).generate(0, count=count, bars=BARS, primer="none", key=key)
    return float(np.mean([best_key(p.grid)[:2] == parse_key(key) for p in pieces]))


def harmonizations(model_dir, chorales, candidates: int, temperature: float, voice_leading: bool = True):
    """The sopranos of `chorales`, with their fermatas (as a MusicXML melody brings them), as
    `chorale harmonize --seed i` harmonizes them, put back in place (harmonize leaves out a
    melody's leading and trailing rests)."""
    model = chorale.load_model(model_dir)
    grids = []
    for i, c in enumerate(chorales):
        melody = np.zeros_like(c.grid)
        melody[:, 0] = c.grid[:, 0]
        satb = model.harmonize(chorale.Chorale(melody, fermatas=c.fermatas or ()), candidates=candidates, seed=i,
                               temperature=temperature, voice_leading=voice_leading).grid
        grid = np.zeros_like(c.grid)
        first = int(np.flatnonzero(c.grid[:, 0])[0])
        grid[first:first + len(satb)] = satb
        grids.append(grid)
    return grids


def last_bass(grid) -> int:
    sung = grid[:, 3][grid[:, 3] != 0]
    return int(sung[-1] % 12) if sung.size else -1


def bach_score(chorales, reference):
    """Real chorales scored with their fermatas from the manifest, each in the key its notes fit."""
    return music.measure([c.grid for c in chorales], reference, fermatas=[c.fermatas for c in chorales])


def melody_form(grids, melodies) -> dict:
    """A harmonization keeps its melody's fermatas (unless the melody was transposed)."""
    kept = [np.array_equal(g[:, 0], c.grid[:, 0]) for g, c in zip(grids, melodies)]
    return {"fermatas": [c.fermatas if k else None for c, k in zip(melodies, kept)]}


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
    parser.add_argument("--reference", help="A trained `--arch reference` model folder (its columns are "
                        "left out without one).")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--harmonizations", type=int, default=20)
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--temperature", type=float, default=defaults.TEMPERATURE,
                        help="For samples and harmonizations.")
    parser.add_argument("--note", default="", help="What was compared, written into the results (e.g. epochs).")
    parser.add_argument("--results", type=Path, default=RESULTS, help="Where to write the JSON results.")
    args = parser.parse_args()

    dataset = load()
    test = dataset["test"]
    reference = music.Reference.of(dataset.grids("test"), ranges_from=[n for s in dataset.splits for n in dataset.grids(s)])
    models = {"default": args.default, "reference": args.reference}
    runs = {"default": (args.default, True), UNGUARDED: (args.default, False)}  # (folder, voice-leading guard)
    if args.reference:
        runs["reference"] = (args.reference, True)
    seconds, columns, agreement, final_bass = {}, {}, {}, {}
    columns["Bach"] = bach_score(test[: args.samples], reference)
    for name, (folder, guard) in runs.items():
        start = time.perf_counter()
        columns[name] = samples(folder, args.samples, args.temperature, reference, guard)
        seconds[name] = time.perf_counter() - start
    melodies = test[: args.harmonizations]
    columns[f"Bach {len(melodies)}"] = bach_score(melodies, reference)
    for name, (folder, guard) in runs.items():
        start = time.perf_counter()
        grids = harmonizations(folder, melodies, args.candidates, args.temperature, guard)
        seconds[f"{name} harm"] = time.perf_counter() - start
        columns[f"{name} harm"] = music.measure(grids, reference, **melody_form(grids, melodies))
        agreement[f"{name} harm"] = float(np.mean([music.agreement(g, c.grid, given=0)
                                                             for g, c in zip(grids, melodies)]))
        final_bass[f"{name} harm"] = float(np.mean([last_bass(g) == last_bass(c.grid)
                                                    for g, c in zip(grids, melodies)]))

    aggregate = {title: scored["aggregate"] for title, scored in columns.items()}
    bach, ours = aggregate["Bach"], aggregate["default"]
    ratio = ours["parallels_per_note"] / bach["parallels_per_note"]
    summary = {
        "parallels_per_note_vs_bach": ratio,
        "parallels_per_note_vs_bach_without_guard":
            aggregate[UNGUARDED]["parallels_per_note"] / bach["parallels_per_note"],
        "within_3x_of_bach": ratio <= 3,
        "agreement_with_bach": agreement,
        "last_bass_as_bach": final_bass,
        "key_asked_for": {"key": "D minor", "primer": "none", "samples": 20,
                          "share_in_that_key": keys_asked_for(args.default, "D minor", 20),
                          "other_keys": {k: keys_asked_for(args.default, k, 20) for k in OTHER_KEYS}},
    }
    if "reference" in aggregate:
        summary.update(versus_reference(aggregate))
    text = music.table(aggregate)
    agree = "  ".join(f"{k}: {v:.3f}" for k, v in agreement.items())
    print("Samples and harmonizations use the voice-leading guard, as generate and harmonize do by default;\n"
          f"'{UNGUARDED}' is the default model with --no-voice-leading.\n")
    print(text)
    print(f"\nShare of alto/tenor/bass 16ths equal to Bach's: {agree}")
    print("Harmonizations whose last bass note has Bach's pitch class: "
          + "  ".join(f"{k}: {v:.0%}" for k, v in final_bass.items()))
    print(f"Parallel 5ths+8ves per note: default {ours['parallels_per_note']:.4f}, Bach {bach['parallels_per_note']:.4f} "
          f"(published: about {PUBLISHED_BACH_PARALLELS_PER_NOTE}), ratio {ratio:.2f} "
          f"({'within' if ratio <= 3 else 'NOT within'} 3x; without the guard "
          f"{summary['parallels_per_note_vs_bach_without_guard']:.1f}x)")
    asked = summary["key_asked_for"]
    print(f"--primer none --key '{asked['key']}': {asked['share_in_that_key']:.0%} of {asked['samples']} samples "
          "fit that key best; " + ", ".join(f"{k}: {v:.0%}" for k, v in asked["other_keys"].items()))
    if "reference" in aggregate:
        print(f"Default better than the reference (fewer faults, else nearer Bach) on {summary['default_better']} of "
              f"{len(music.METRICS)} metrics (reference better on {summary['reference_better']}, ties {summary['ties']})")
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


def versus_reference(aggregate) -> dict:
    """The default model's samples against the reference model's, metric by metric."""
    bach, ours, theirs = aggregate["Bach"], aggregate["default"], aggregate["reference"]
    verdicts = {key: better(key, ours[key], theirs[key], bach[key]) for key, _ in music.METRICS}
    nearer = {key: closer(ours[key], theirs[key], bach[key]) for key, _ in music.METRICS}
    return {
        "default_better": sum(v is True for v in verdicts.values()),
        "reference_better": sum(v is False for v in verdicts.values()),
        "ties": sum(v is None for v in verdicts.values()),
        "per_metric": verdicts,
        "nearer_bach_on_every_metric": {"default": sum(v is True for v in nearer.values()),
                                        "reference": sum(v is False for v in nearer.values()),
                                        "ties": sum(v is None for v in nearer.values()), "per_metric": nearer},
    }


if __name__ == "__main__":
    main()
