"""Benchmark: the chapter's forecasting experiments (Hands-On ML, ch. 15), ours beside
the chapter's MSE figures.

    python benchmarks/forecast_synthetic.py [--epochs 20] [--n-series 10000] [--seed 42]

Trains every model of both tasks (next step; ten steps ahead) on 7,000 series, scores
the 1,000 test series, prints one table and writes benchmarks/results/
forecast_synthetic.json. Target: the whole run in 15 minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from chorale.io.files import atomic_write
from chorale.forecast.models import format_table, run_synthetic

OUT = Path(__file__).resolve().parent / "results" / "forecast_synthetic.json"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--n-series", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()

    start, cpu_start, results = time.perf_counter(), time.process_time(), {}
    for task in ("next", "ahead"):
        t0 = time.perf_counter()
        results[task] = run_synthetic(
            task, epochs=args.epochs, seed=args.seed, n_series=args.n_series,
            progress=lambda name, task=task: print(f"  [{task}] {name} "
                                                   f"({time.perf_counter() - start:.0f} s)",
                                                   flush=True))
        results[task]["wall_seconds"] = round(time.perf_counter() - t0, 1)
        label = "next step (predict step 51)" if task == "next" else "ten steps ahead"
        print(f"\n{label}, {args.epochs} epochs, {results[task]['wall_seconds']:.0f} s:")
        print(format_table(results[task]), "\n", flush=True)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    # On a shared machine the wall time depends on the neighbours; the CPU time (all
    # threads) does not: on 2 free cores the wall time is about half of it or more.
    print(f"Total wall time: {total:.0f} s ({total / 60:.1f} min; target 15 min); "
          f"CPU time {cpu:.0f} s")
    results["total_wall_seconds"], results["total_cpu_seconds"] = round(total, 1), round(cpu, 1)
    with atomic_write(args.out) as f:
        json.dump(results, f, indent=1)
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
