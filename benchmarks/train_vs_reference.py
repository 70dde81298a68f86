"""Train the book's reference model (20 epochs, no early stopping) and the default
`chorale train` in one run on the same machine and data; print a table and write it as
JSON to benchmarks/results/train_vs_reference.json. Not a test: it takes ~30 min on 2 cores.

    python benchmarks/train_vs_reference.py [--data PATH] [--seed 1] [--only default]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from chorale.io.files import atomic_write
from chorale.model.train import train

RESULTS = Path(__file__).resolve().parent / "results" / "train_vs_reference.json"
RUNS = {"default": dict(arch=None), "reference": dict(arch="reference", epochs=20, patience=20)}


def run(name: str, data, seed: int, out: Path) -> dict:
    card = train(out / name, data=data, seed=seed, force=True, **RUNS[name])
    scores = card["metrics"]["test"]  # the best model on the test split, as `chorale evaluate` scores it
    return {
        "run": name, "architecture": card["architecture"], "parameters": card["parameters"],
        "epochs": card["epochs_run"], "seconds_per_epoch": round(card["wall_time_s"] / card["epochs_run"], 1),
        "wall_time_s": card["wall_time_s"], "seconds_to_best": card["seconds_to_best"],
        "best_epoch": card["metrics"]["best_epoch"], "val_nll": round(card["metrics"]["val_loss"], 4),
        "test_nll_windowed": round(scores["windowed"]["nll"], 4),
        "test_acc_windowed": round(scores["windowed"]["accuracy"], 4),
        "test_nll_whole": round(scores["whole"]["nll"], 4), "test_acc_whole": round(scores["whole"]["accuracy"], 4),
    }


def table(rows: list[dict]) -> str:
    cols = ("run", "architecture", "parameters", "epochs", "seconds_per_epoch", "wall_time_s", "seconds_to_best",
            "test_nll_windowed", "test_acc_windowed", "test_nll_whole", "test_acc_whole")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def targets(rows: list[dict]) -> dict:
    """The issue's targets: lower windowed test NLL than the reference, in at most a third of its wall time."""
    default, reference = rows
    ratio = default["wall_time_s"] / reference["wall_time_s"]
    return {"default_beats_reference_nll": default["test_nll_windowed"] < reference["test_nll_windowed"],
            "wall_time_ratio": round(ratio, 3), "within_a_third": ratio <= 1 / 3,
            "windowed_nll_at_most_0.50": default["test_nll_windowed"] <= 0.50}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="dataset (default: the bundled one)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="outputs/benchmarks", help="where the trained runs go")
    parser.add_argument("--only", choices=sorted(RUNS), help="train just one of the two")
    args = parser.parse_args()
    started = time.time()
    rows = [run(name, args.data, args.seed, Path(args.out)) for name in ([args.only] if args.only else RUNS)]
    print(table(rows))
    verdict = targets(rows) if len(rows) == 2 else {}
    for key, value in verdict.items():
        print(f"{key}: {value}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(RESULTS) as f:
        json.dump({"rows": rows, "targets": verdict, "data": args.data or "bundled", "seed": args.seed, "cpus": os.cpu_count(),
                   "machine": platform.platform(), "total_s": round(time.time() - started)}, f, indent=2)


if __name__ == "__main__":
    main()
