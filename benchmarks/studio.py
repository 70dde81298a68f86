"""`chorale studio` through HTTP: a real server (`chorale studio --port 0`, uvicorn on
127.0.0.1, a free port) answering the page's requests.

    python benchmarks/studio.py [--repeat 5] [--json FILE]

Measures, each `--repeat` times after the first request (reported apart, as a user who
clicks at once would meet it): loading the page (the HTML, its script and stylesheet,
and /api/info), Generate (16 bars), Harmonize (a 16-bar melody, 8 candidates) and
Regenerate (2 bars, 8 candidates). Targets: the page under 1 s, each action under 2 s,
for the first answer and the median one (the slowest is reported too: on a 2-core
machine shared with other work it says more about the neighbours; the load average
before and after is recorded). Prints a table and writes
benchmarks/results/studio.json. Every request goes to 127.0.0.1; the server is stopped
at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chorale.io.files import atomic_write  # noqa: E402
from chorale.studio.server import serving  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "studio.json"
TARGETS = {"page load": 1.0, "generate 16 bars": 2.0, "harmonize 16 bars, 8 candidates": 2.0,
           "regenerate 2 bars, 8 candidates": 2.0}


def call(url: str, data: bytes | None = None, content_type: str | None = None) -> bytes:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type} if content_type else {})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


def post_json(url: str, body: dict) -> dict:
    return json.loads(call(url, json.dumps(body).encode(), "application/json"))


def post_form(url: str, fields: dict, file: tuple[str, bytes] | None = None) -> dict:
    """multipart/form-data, as the page's FormData sends it."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    if file:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file[0]}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + file[1] + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return json.loads(call(url, body, f"multipart/form-data; boundary={boundary}"))


def timed(fn, repeat: int) -> dict:
    runs = []
    for _ in range(repeat + 1):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    first, rest = runs[0], runs[1:]
    return {"first": first, "median": statistics.median(rest), "max": max(rest), "runs": rest}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="Timed requests of each kind (after the first).")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    repeat = max(1, min(args.repeat, 20))  # a bounded number of requests

    load_before = os.getloadavg()
    with serving() as (url, started):
        def page():
            call(url)
            call(url + "static/studio.js")
            call(url + "static/studio.css")
            call(url + "api/info")

        seeds, pieces = iter(range(100)), []
        results = {
            "page load": timed(page, repeat),
            "generate 16 bars": timed(
                lambda: pieces.append(post_form(url + "api/generate", {"seed": next(seeds), "bars": 16})), repeat),
        }
        piece = pieces[0]
        midi = call(url + "api/export/midi", json.dumps({"piece": piece}).encode(), "application/json")
        results |= {
            "harmonize 16 bars, 8 candidates": timed(
                lambda: post_form(url + "api/harmonize", {"voice": "soprano", "candidates": 8, "seed": next(seeds)},
                                  ("melody.mid", midi)), repeat),
            "regenerate 2 bars, 8 candidates": timed(
                lambda: post_json(url + "api/regenerate", {"piece": piece, "bars": [5, 6], "candidates": 8,
                                                           "seed": next(seeds)}), repeat),
        }

    load_after = os.getloadavg()
    print(f"chorale studio through HTTP ({url}), server answering {started:.2f} s after launch; "
          f"{repeat} timed requests each after the first; load average {load_before[0]:.1f} before, "
          f"{load_after[0]:.1f} after, on {os.cpu_count()} CPUs")
    print(f"{'request':<34} {'first':>7} {'median':>7} {'max':>7} {'target':>7}  ok")
    ok = True
    for name, r in results.items():
        passed = max(r["first"], r["median"]) < TARGETS[name]
        ok &= passed
        print(f"{name:<34} {r['first']:7.3f} {r['median']:7.3f} {r['max']:7.3f} {TARGETS[name]:7.1f}  "
              f"{'yes' if passed else 'NO'}")
    report = {
        "server": "chorale studio (uvicorn) on 127.0.0.1",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_before": load_before[0], "load_average_after": load_after[0]},
        "started_seconds": started,
        "repeat": repeat,
        "targets_seconds": TARGETS,
        "seconds": results,
        "all_within_targets": ok,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.json, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(f"wrote {args.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
