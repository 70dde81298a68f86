"""Does seeing ahead help? Harmonizations, the look-ahead NLL protocols and regenerate's speed,
on held-out (test) chorales only.

    python benchmarks/look_ahead.py [--model DIR ...] [--melodies 83] [--candidates 8]

For each model (default: the bundled one; give an older run folder too for a before/after):
- harmonize: the soprano of each test chorale, with its fermatas, harmonized as
  `chorale harmonize --seed i` does (8 candidates, the voice-leading guard on); the share
  whose last bass note has Bach's pitch class, whether every melody note is kept exactly
  (transposed melodies excepted: compared after the shift), and the voice-leading faults
  per 100 chords;
- the evaluate protocols `harmonize` and `infill` (TensorFlow; models with look-ahead
  only): NLL with the known notes seen, and of the same tokens read left to right;
- timing: harmonizing a 16-bar soprano and regenerating bars 5-6 of a 16-bar chorale, 8
  candidates each (the best of 3 runs), and whether every CSV line outside the region is
  byte-for-byte the same.

Prints a table and writes benchmarks/results/look_ahead.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

import chorale
from chorale.data.loader import load
from chorale.encoding import STEPS_PER_BAR
from chorale.io.files import atomic_write, bundled
from chorale.music import voice_leading_faults

RESULTS = Path(__file__).resolve().parent / "results" / "look_ahead.json"
BARS = 16


def harmonize_all(model, chorales, candidates: int) -> dict:
    """The harmonize rows for `model` over the sopranos of `chorales`."""
    same_bass, kept, faults, chords = [], [], {}, 0
    for i, c in enumerate(chorales):
        melody = np.zeros_like(c.grid)
        melody[:, 0] = c.grid[:, 0]
        satb = model.harmonize(chorale.Chorale(melody, fermatas=c.fermatas or ()), candidates=candidates, seed=i)
        line = c.grid[:, 0][np.flatnonzero(c.grid[:, 0])[0]:]
        line = line[: np.flatnonzero(line)[-1] + 1]
        shift = satb.details["shift"]
        kept.append(np.array_equal(satb.grid[:, 0], np.where(line > 0, line + shift, 0)))
        bach_bass, our_bass = c.grid[:, 3][c.grid[:, 3] > 0], satb.grid[:, 3][satb.grid[:, 3] > 0]
        same_bass.append(our_bass.size > 0 and our_bass[-1] % 12 == bach_bass[-1] % 12)
        for kind, n in voice_leading_faults(satb.grid).items():
            faults[kind] = faults.get(kind, 0) + n
        chords += len(satb.grid)
    return {"melodies": len(chorales), "last_bass_as_bach": float(np.mean(same_bass)),
            "melody_kept": float(np.mean(kept)),
            "faults_per_100_chords": {k: 100 * n / chords for k, n in faults.items()}}


def timings(model, chorales, candidates: int) -> dict:
    """Seconds (best of 3) to harmonize a 16-bar soprano and to regenerate 2 bars of a
    16-bar chorale, and whether regenerate kept every other CSV line."""
    piece = next(c for c in chorales if len(c.grid) >= BARS * STEPS_PER_BAR)
    grid = piece.notes[: BARS * STEPS_PER_BAR]
    melody = np.zeros_like(grid)
    melody[:, 0] = grid[:, 0]

    def best(run):
        seconds = []
        for _ in range(3):
            start = time.perf_counter()
            out = run()
            seconds.append(time.perf_counter() - start)
        return min(seconds), out

    harmonize_s, _ = best(lambda: model.harmonize(melody, candidates=candidates, seed=0))
    regenerate_s, new = best(lambda: model.regenerate(grid, bars="5-6", candidates=candidates, seed=0))
    with tempfile.TemporaryDirectory() as folder:
        before, after = Path(folder, "before.csv"), Path(folder, "after.csv")
        chorale.Chorale(grid).save(before)
        new.save(after)
        old_lines, new_lines = before.read_bytes().splitlines(), after.read_bytes().splitlines()
    region = range(1 + 4 * STEPS_PER_BAR, 1 + 6 * STEPS_PER_BAR)  # line 0 is the header
    outside_same = len(old_lines) == len(new_lines) and all(
        a == b for j, (a, b) in enumerate(zip(old_lines, new_lines)) if j not in region)
    return {"harmonize_16_bars_s": harmonize_s, "regenerate_2_bars_s": regenerate_s,
            "regenerate_outside_byte_identical": outside_same,
            "regenerate_changed_cells": int((new.grid != grid).sum())}


def protocols(model_dir) -> dict | None:
    result = chorale.evaluate(model_dir)
    if "harmonize" not in result:
        return None
    return {p: {"look_ahead": result[p]["look_ahead"]["nll"], "left_to_right": result[p]["left_to_right"]["nll"],
                "gain": result[p]["gain"], "tokens": result[p]["look_ahead"]["tokens"]}
            for p in ("harmonize", "infill")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="+", default=[str(bundled("model"))], help="Run folders to compare.")
    parser.add_argument("--melodies", type=int, default=None, help="Test sopranos to harmonize (default: all).")
    parser.add_argument("--candidates", type=int, default=8)
    args = parser.parse_args()
    test = load()["test"]
    chorales = test[: args.melodies] if args.melodies else test
    result = {"melodies": len(chorales), "candidates": args.candidates, "models": {}}
    for folder in args.model:
        model = chorale.load_model(folder)
        row = {"look_ahead": model.sampler.looks_ahead, **harmonize_all(model, chorales, args.candidates),
               **timings(model, test, args.candidates), "protocols": protocols(folder)}
        result["models"][folder] = row
        print(json.dumps({folder: row}, indent=1), flush=True)
    print(table(result))
    with atomic_write(RESULTS) as f:
        json.dump(result, f, indent=2)


def table(result) -> str:
    names = list(result["models"])
    rows = [("last bass = Bach's pitch class", lambda r: f"{100 * r['last_bass_as_bach']:.0f}%"),
            ("melody kept exactly", lambda r: f"{100 * r['melody_kept']:.0f}%"),
            *[(f"{kind} / 100 chords", lambda r, k=kind: f"{r['faults_per_100_chords'][k]:.2f}")
              for kind in ("parallel_fifths", "parallel_octaves", "crossings", "spacing")],
            ("harmonize 16 bars, 8 candidates (s)", lambda r: f"{r['harmonize_16_bars_s']:.2f}"),
            ("regenerate 2 bars, 8 candidates (s)", lambda r: f"{r['regenerate_2_bars_s']:.2f}"),
            ("regenerate: outside the region identical", lambda r: str(r["regenerate_outside_byte_identical"]))]
    for p in ("harmonize", "infill"):
        for side in ("look_ahead", "left_to_right", "gain"):
            rows.append((f"{p} NLL {side.replace('_', ' ')}",
                         lambda r, p=p, s=side: f"{r['protocols'][p][s]:.4f}" if r["protocols"] else "-"))
    width = max(len(n) for n, _ in rows)
    lines = [f"{'':<{width}}  " + "  ".join(f"{'/'.join(Path(n).parts[-2:]):>14}" for n in names)]
    lines += [f"{label:<{width}}  " + "  ".join(f"{cell(result['models'][n]):>14}" for n in names)
              for label, cell in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
