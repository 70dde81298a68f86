"""Training on one worker against two (TF_CONFIG, localhost), on this machine; print a table
and write JSON to benchmarks/results/multi_worker.json.

Rows: `chorale train` as one process (Keras's Model.fit); one worker under TF_CONFIG (the
custom multi-worker loop of chorale/model/distributed.py with nobody to talk to: the loop's
own cost); two workers (each computes half of every global batch and all-reduces the
gradients). Both workers share this machine's cores, so two workers cannot be faster here;
the numbers say what the collective costs. Epoch 1 includes tracing; epoch 2 is the steady
state. Then the collective alone: an all-reduce of the model's gradients (one tensor per
weight, as Keras's optimizer sends them) between two workers, per step.

    python benchmarks/multi_worker.py [--data PATH] [--epochs 2] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "multi_worker.json"
SMALL = ("-o", "filters=4", "-o", "dilations=(1,2)", "-o", "embed_dim=4")  # --smoke: a tiny model


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def tf_config(ports: list[int], index: int) -> str:
    return json.dumps({"cluster": {"worker": [f"localhost:{p}" for p in ports]}, "task": {"type": "worker", "index": index}})


def launch(args, count: int, env: dict, timeout: int, ports: list[int] | None = None) -> tuple[float, list[str]]:
    """Start `count` processes `args(i)`, each with its TF_CONFIG when `ports` are given;
    (wall seconds, their outputs)."""
    start = time.perf_counter()
    procs = [subprocess.Popen(args(i), env={**env, **({"TF_CONFIG": tf_config(ports, i)} if ports else {})},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for i in range(count)]
    outputs = [p.communicate(timeout=timeout)[0] for p in procs]
    seconds = time.perf_counter() - start
    for p, out in zip(procs, outputs):
        if p.returncode:
            sys.exit(f"a worker failed ({p.returncode}):\n{out[-3000:]}")
    return seconds, outputs


def train_row(name: str, workers: int, options: argparse.Namespace, folder: Path, env: dict) -> dict:
    out = folder / name
    data = ["--data", options.data] if options.data else []

    def args(i):
        return [sys.executable, "-m", "chorale", "train", "--epochs", str(options.epochs), "--batch-size",
                str(options.batch_size), "--seed", "1", "--out", str(out if i == 0 else folder / f"{name}-{i}"),
                *data, *(SMALL if options.smoke else ()), *(["--distribute", "mirrored"] if workers else [])]

    wall, _ = launch(args, max(workers, 1), env, options.timeout, free_ports(workers) if workers else None)
    with open(out / "history.csv") as f:
        history = list(csv.DictReader(f))
    card = json.loads((out / "card.json").read_text())
    hp = card["hyperparameters"]
    windows = training_windows(options.data)
    steps = windows // hp["batch_size"] if workers else -(-windows // hp["batch_size"])  # as train.py cuts them
    last = float(history[-1]["seconds"])
    return {"run": name, "workers": hp.get("workers", 1), "global_batch": hp["batch_size"],
            "parameters": card["parameters"], "steps": steps,
            **{f"epoch_{h['epoch']}_s": round(float(h["seconds"]), 2) for h in history},
            "ms_per_step_last": round(1000 * last / steps, 1),
            "loss_epoch_1": round(float(history[0]["loss"]), 4), "process_wall_s": round(wall, 1)}


def training_windows(data) -> int:
    from chorale.data.loader import load
    from chorale.model.train import SHIFT, WINDOW

    return sum(max(0, (len(n) - WINDOW) // SHIFT + 1) for n in load(data).grids("train"))


def collective_worker(index: int, ports: list[int], model_args: list[str], repeats: int) -> None:
    """(in each worker process) Time all-reduces of gradient-shaped tensors; print JSON."""
    os.environ["TF_CONFIG"] = tf_config(ports, index)
    from chorale.backend import tensorflow as tf
    from chorale.data.loader import load
    from chorale.encoding import Vocabulary
    from chorale.model import distributed
    from chorale.model.networks import build_chorale_model
    from chorale.registry import BACKBONES

    strategy = distributed.strategy()
    options = {**BACKBONES["wavenet"].options,
               **{k: ast.literal_eval(v) for k, v in (a.split("=", 1) for a in model_args)}}
    vocab = Vocabulary.fit(load().grids("train"))
    with strategy.scope():
        model = build_chorale_model("wavenet", vocab, plan=True, look_ahead=True, **options)
    shapes = [v.shape for v in model.trainable_variables]

    def all_reduce(make):
        @tf.function
        def reduce():
            return strategy.run(lambda: tf.distribute.get_replica_context().all_reduce("sum", make()))
        return reduce

    timings = {}
    for name, fn in (("gradients", all_reduce(lambda: [tf.ones(s) for s in shapes])),
                     ("scalar", all_reduce(lambda: tf.ones(())))):
        for _ in range(5):
            fn()
        start = time.perf_counter()
        for _ in range(repeats):
            result = fn()
        tf.nest.map_structure(lambda t: t.numpy(), result)
        timings[name] = (time.perf_counter() - start) / repeats * 1000
    print(json.dumps({"index": index, "tensors": len(shapes), "values": int(sum(s.num_elements() for s in shapes)),
                      "gradients_ms": round(timings["gradients"], 2), "scalar_ms": round(timings["scalar"], 3)}))


def collective_row(options: argparse.Namespace, env: dict) -> dict:
    ports = free_ports(2)
    model_args = [a for a in SMALL if a != "-o"] if options.smoke else []

    def args(i):
        return [sys.executable, __file__, "--collective-worker", str(i), ",".join(map(str, ports)),
                *[f"--model-option={a}" for a in model_args], "--repeats", str(options.repeats)]

    _, outputs = launch(args, 2, env, options.timeout)  # each worker sets its TF_CONFIG itself
    found = [json.loads(line) for out in outputs for line in out.splitlines() if line.startswith("{")]
    if len(found) != 2:
        sys.exit(f"the collective workers did not report:\n{outputs[0][-2000:]}")
    return {"tensors": found[0]["tensors"], "values": found[0]["values"],
            "all_reduce_gradients_ms": max(f["gradients_ms"] for f in found),
            "all_reduce_scalar_ms": max(f["scalar_ms"] for f in found)}


def table(rows: list[dict]) -> str:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="dataset (default: the bundled one)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16, help="the global batch (wavenet's default)")
    parser.add_argument("--repeats", type=int, default=50, help="all-reduces timed")
    parser.add_argument("--timeout", type=int, default=1800)
    parser.add_argument("--smoke", action="store_true", help="a tiny model: check the script, not the numbers")
    parser.add_argument("--collective-worker", nargs=2, metavar=("INDEX", "PORTS"), help=argparse.SUPPRESS)
    parser.add_argument("--model-option", action="append", default=[], help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.collective_worker:
        index, ports = options.collective_worker
        return collective_worker(int(index), [int(p) for p in ports.split(",")], options.model_option, options.repeats)

    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), "CUDA_VISIBLE_DEVICES": ""}
    env.pop("TF_CONFIG", None)
    with tempfile.TemporaryDirectory(prefix="chorale-multi-worker-") as scratch:
        runs = [train_row("one process (Model.fit)", 0, options, Path(scratch), env),
                train_row("1 worker (custom loop)", 1, options, Path(scratch), env),
                train_row("2 workers (custom loop)", 2, options, Path(scratch), env)]
    collective = collective_row(options, env)
    two = runs[-1]
    collective["share_of_a_2_worker_step"] = round(collective["all_reduce_gradients_ms"] / two["ms_per_step_last"], 3)
    print(table(runs))
    print()
    print(table([collective]))
    result = {"runs": runs, "collective": collective, "epochs": options.epochs, "batch_size": options.batch_size,
              "data": options.data or "bundled", "smoke": options.smoke, "cpus": os.cpu_count(),
              "python": platform.python_version()}
    if not options.smoke:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        from chorale.io.files import atomic_write

        with atomic_write(RESULTS) as f:
            json.dump(result, f, indent=2)
        print(f"\nWrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
