"""The book's full-prefix sampling loop vs the incremental sampler, on the same model.

    python benchmarks/sampling.py [--model DIR] [--json FILE]

The book's loop runs model.predict over the whole prefix for every new token: its cost
grows with the square of the length. It is measured at 56 chords; at 640 chords it is
extrapolated from measured per-call costs at several prefix lengths (and said so).
Prints a table and writes benchmarks/results/sampling.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from chorale.encoding import N_VOICES
from chorale.model.run import load_run
from chorale.model.inputs import model_inputs
from chorale.io.files import atomic_write, bundled
from chorale.sampling.sample import Controls, generate, primer_grid
from chorale.sampling.stepper import Sampler

RESULTS = Path(__file__).parent / "results" / "sampling.json"


def book_loop(model, vocab, primer, steps, seed=0):
    """Hands-On ML's generate_chorale: predict over the whole prefix, sample the last step."""
    rng = np.random.default_rng(seed)
    tokens = list(vocab.encode(primer))
    for _ in range(steps * N_VOICES - len(tokens)):
        logits = model.predict(model_inputs(model, np.array([tokens], dtype=np.int32)), verbose=0)[0, -1]
        p = np.exp(logits - logits.max())
        tokens.append(int(rng.choice(len(p), p=p / p.sum())))
    return vocab.decode(np.array(tokens))


def seconds(fn, repeat=1):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(bundled("model")))
    parser.add_argument("--json", default=str(RESULTS), help="Where to write the results (default: %(default)s).")
    args = parser.parse_args()
    model, card, vocab = load_run(args.model)
    sampler = Sampler.from_model(model)
    primer = primer_grid("test:0", 0)[:8]  # two beats of a real opening
    controls = Controls(voice_ranges=card["voice_ranges"])

    def incremental(steps, count=1):
        return generate(sampler, vocab, [primer] * count, steps, range(count), controls)

    # The incremental sampler first: once model.predict has run, TensorFlow's idle worker
    # threads take CPU from NumPy, and `chorale generate` never starts them.
    incremental(56)  # warm up
    incremental_rows = {
        "incremental, 56 chords": seconds(lambda: incremental(56), repeat=3),
        "incremental, 640 chords": seconds(lambda: incremental(640), repeat=3),
        "incremental, 64 x 640 chords (batched)": seconds(lambda: incremental(640, 64)),
    }
    book_56 = seconds(lambda: book_loop(model, vocab, primer, 56))
    # per-call cost of the book's loop at several prefix lengths, to extrapolate to 640 chords
    lengths = [32, 256, 1024, 2560]
    per_call = [seconds(lambda n=n: model.predict(model_inputs(model, np.zeros((1, n), np.int32)), verbose=0), repeat=3)
                for n in lengths]
    book_640 = float(sum(np.interp(n, lengths, per_call) for n in range(len(primer) * 4, 640 * 4)))
    rows = {"book loop, 56 chords (measured)": book_56, "book loop, 640 chords (extrapolated)": book_640,
            **incremental_rows}
    tokens = {"56": 56 * 4, "640": 640 * 4}
    result = {
        "model": str(args.model), "architecture": card["architecture"],
        "seconds": rows,
        "tokens_per_second": {
            "book, 56 chords": tokens["56"] / book_56,
            "incremental, 640 chords": tokens["640"] / rows["incremental, 640 chords"],
            "incremental, 64 x 640 chords": 64 * tokens["640"] / rows["incremental, 64 x 640 chords (batched)"],
        },
        "speedup_640": book_640 / rows["incremental, 640 chords"],
        "book_per_call_seconds": dict(zip(map(str, lengths), per_call)),
    }
    print(f"{'run':<42} {'seconds':>9}")
    for name, s in rows.items():
        print(f"{name:<42} {s:9.3f}")
    for name, tps in result["tokens_per_second"].items():
        print(f"{'tokens/s, ' + name:<42} {tps:9.0f}")
    print(f"{'speed-up at 640 chords':<42} {result['speedup_640']:8.0f}x")
    Path(args.json).parent.mkdir(exist_ok=True)
    with atomic_write(args.json) as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
