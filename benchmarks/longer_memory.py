"""Longer memory and the plan: train variants of the default `chorale train` (seed 1, the
bundled data) and score each on the test split, with the plan unknown and told. Appends to
benchmarks/results/longer_memory.json (one row per run; a rerun of a variant replaces it).

    python benchmarks/longer_memory.py VARIANT [VARIANT ...] [--out outputs/memory]

Seconds depend on the machine's load: compare s/epoch only with the `default` row of the
same session (the ratio is what carries over to an idle machine).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from chorale.io.files import atomic_write
from chorale.model.train import train

RESULTS = Path(__file__).resolve().parent / "results" / "longer_memory.json"
DILATIONS = (1, 2, 4, 8, 16, 32)
OLD = dict(epochs=8, batch_size=32)  # the default before this study
VARIANTS = {
    "default": {},  # 12 epochs of batch 16, plan inputs, 33-chord windows, dilations 1..32 twice
    "8x32": OLD,
    "no-plan": dict(OLD, plan=False),
    "window65": dict(OLD, window=65),
    "window65-d64": dict(OLD, window=65, options=dict(dilations=(*DILATIONS, 64) * 2)),
    "window65-d64x3": dict(OLD, window=65, options=dict(dilations=(*DILATIONS, 64) * 3)),
    "window97-d64": dict(OLD, window=97, options=dict(dilations=(*DILATIONS, 64) * 2)),
    "window129-d128": dict(OLD, window=129, options=dict(dilations=(*DILATIONS, 64, 128) * 2)),
    "d32x3": dict(OLD, options=dict(dilations=DILATIONS * 3)),
    "window65-d64-b16": dict(OLD, window=65, batch_size=16, options=dict(dilations=(*DILATIONS, 64) * 2)),
    "epochs12": dict(epochs=12, batch_size=32),
    "b16": dict(epochs=8, batch_size=16),
    "default-no-plan": dict(plan=False),
}


def run(name: str, out: Path, seed: int = 1) -> dict:
    card = train(out / name, seed=seed, force=True, verbose=2, **VARIANTS[name])
    test = card["metrics"]["test"]
    row = {"variant": name, **VARIANTS[name], "parameters": card["parameters"],
           "batch_size": card["hyperparameters"]["batch_size"], "epochs": card["epochs_run"], "seconds_per_epoch": round(card["wall_time_s"] / card["epochs_run"], 1),
           "val_nll": round(card["metrics"]["val_loss"], 4),
           "test_nll_windowed": round(test["windowed"]["nll"], 4), "test_nll_whole": round(test["whole"]["nll"], 4)}
    if "planned" in test:
        row |= {"test_nll_windowed_plan": round(test["planned"]["windowed"]["nll"], 4),
                "test_nll_whole_plan": round(test["planned"]["whole"]["nll"], 4)}
    return json.loads(json.dumps(row))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", choices=VARIANTS)
    parser.add_argument("--out", default="outputs/memory", type=Path)
    args = parser.parse_args()
    for name in args.variants:
        row = run(name, args.out)
        rows = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
        rows = [r for r in rows if r["variant"] != name] + [row]
        with atomic_write(RESULTS) as f:
            json.dump(rows, f, indent=2)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
