"""Train the book's reference model (20 epochs, no early stopping), the default
`chorale train` and the transformer (`--arch transformer`) in one run on the same machine
and data; score each best model on the validation and test splits (windowed and
whole-chorale NLL, plan unknown); print a table and write it as JSON to
benchmarks/results/train_vs_reference.json. Not a test: it takes about an hour on 2 cores.

    python benchmarks/train_vs_reference.py [--data PATH] [--seed 1] [--only default transformer]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from chorale.io.files import atomic_write
from chorale.model.evaluate import evaluate
from chorale.model.train import train

RESULTS = Path(__file__).resolve().parent / "results" / "train_vs_reference.json"
RUNS = {"default": dict(arch=None), "transformer": dict(arch="transformer"),
        "reference": dict(arch="reference", epochs=20, patience=20)}


def run(name: str, data, seed: int, out: Path) -> dict:
    card = train(out / name, data=data, seed=seed, force=True, **RUNS[name])
    scores = card["metrics"]["test"]  # the best model on the test split, as `chorale evaluate` scores it
    valid = evaluate(out / name, data, split="valid")
    return {
        "run": name, "architecture": card["architecture"], "parameters": card["parameters"],
        "epochs": card["epochs_run"], "seconds_per_epoch": round(card["wall_time_s"] / card["epochs_run"], 1),
        "wall_time_s": card["wall_time_s"], "seconds_to_best": card["seconds_to_best"],
        "best_epoch": card["metrics"]["best_epoch"], "val_nll": round(card["metrics"]["val_loss"], 4),
        "val_nll_windowed": round(valid["windowed"]["nll"], 4), "val_nll_whole": round(valid["whole"]["nll"], 4),
        "test_nll_windowed": round(scores["windowed"]["nll"], 4),
        "test_acc_windowed": round(scores["windowed"]["accuracy"], 4),
        "test_nll_whole": round(scores["whole"]["nll"], 4), "test_acc_whole": round(scores["whole"]["accuracy"], 4),
    }


def table(rows: list[dict]) -> str:
    cols = ("run", "architecture", "parameters", "epochs", "seconds_per_epoch", "wall_time_s", "seconds_to_best",
            "val_nll_windowed", "val_nll_whole", "test_nll_windowed", "test_acc_windowed", "test_nll_whole", "test_acc_whole")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def targets(rows: list[dict]) -> dict:
    """The targets of the runs present: the default's lower windowed test NLL than the
    reference's in at most a third of its wall time; the transformer's whole-chorale NLL
    (validation <= 0.38, test <= 0.40)."""
    by = {r["run"]: r for r in rows}
    out = {}
    if "default" in by and "reference" in by:
        default, reference = by["default"], by["reference"]
        ratio = default["wall_time_s"] / reference["wall_time_s"]
        out.update({"default_beats_reference_nll": default["test_nll_windowed"] < reference["test_nll_windowed"],
                    "wall_time_ratio": round(ratio, 3), "within_a_third": ratio <= 1 / 3,
                    "windowed_nll_at_most_0.50": default["test_nll_windowed"] <= 0.50})
    if "transformer" in by:
        t = by["transformer"]
        out.update({"transformer_val_whole_at_most_0.38": t["val_nll_whole"] <= 0.38,
                    "transformer_test_whole_at_most_0.40": t["test_nll_whole"] <= 0.40})
        if "default" in by:
            out["transformer_beats_default_val_whole"] = t["val_nll_whole"] < by["default"]["val_nll_whole"]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="dataset (default: the bundled one)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="outputs/benchmarks", help="where the trained runs go")
    parser.add_argument("--only", nargs="+", choices=sorted(RUNS), help="train just these runs")
    args = parser.parse_args()
    started = time.time()
    rows = [run(name, args.data, args.seed, Path(args.out)) for name in (args.only or RUNS)]
    print(table(rows))
    verdict = targets(rows)
    for key, value in verdict.items():
        print(f"{key}: {value}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(RESULTS) as f:
        json.dump({"rows": rows, "targets": verdict, "data": args.data or "bundled", "seed": args.seed, "cpus": os.cpu_count(),
                   "machine": platform.platform(), "total_s": round(time.time() - started)}, f, indent=2)


if __name__ == "__main__":
    main()
