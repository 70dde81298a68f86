"""How robust is the CLI? The bad-input catalogue, inputs at every size limit, and a longer
run of every fuzz target.

    python benchmarks/robustness.py [--examples 500] [--skip-limits]

1. Runs each case of benchmarks/catalogue.py (the table the tests use) and, per class
   of case (the name before the colon), counts the cases handled cleanly (the expected
   exit code, one `Error:` line naming the problem, no traceback, never the last-resort
   handler, no file left or changed), with the slowest case's seconds and its peak
   memory (tracemalloc: Python and NumPy allocations).
2. Runs each case of the API's and the studio's tables (benchmarks/catalogue.py:
   bad keyword arguments, work past the budget; multipart and JSON errors, foreign pages,
   wrong content types) the same way: refused with one line (the studio: a 4xx, no server
   path), within 10 s, with its peak memory.
3. Runs `chorale` as a separate process on the worst input each size limit allows
   (chorale.limits): it must finish, processed or refused, within 10 s and 1 GB of
   resident memory (the process's peak RSS, the interpreter and libraries included);
   work that the budget lets through is timed and held to the memory target.
4. Runs a real studio and times a small generate alone, while a request at the studio's
   work budget runs, and after that request's client went away (its work cancelled).
5. Runs each hypothesis target of benchmarks/fuzz_targets.py for --examples examples.

Prints tables and writes benchmarks/results/robustness.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks.catalogue, benchmarks.fuzz_targets

import numpy as np  # noqa: E402

from chorale import limits  # noqa: E402
from chorale.io.files import atomic_write  # noqa: E402
from benchmarks import fuzz_targets  # noqa: E402
from benchmarks.catalogue import API_CASES, CASES, HTTP_CASES, build_shared, check_answer, run_case  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "robustness.json"
TARGET_SECONDS, TARGET_MB = 10, 1024


def catalogue() -> dict:
    outcomes, cost = [], {}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        shared = build_shared(root)
        tracemalloc.start()
        try:
            for case in CASES:
                tracemalloc.reset_peak()
                start = time.perf_counter()
                outcomes.append(run_case(case, root, shared))
                cost[case.name] = (time.perf_counter() - start, tracemalloc.get_traced_memory()[1] / 2**20)
        finally:
            tracemalloc.stop()
            (root / "shared" / "readonly").chmod(0o755)  # so the folder can be removed
    problems = {o.case.name: o.problems() for o in outcomes if o.problems()}
    classes: dict[str, dict] = {}
    for o in outcomes:
        group = o.case.name.split(":")[0]
        seconds, mb = cost[o.case.name]
        c = classes.setdefault(group, {"cases": 0, "clean": 0, "worst_seconds": 0.0, "worst_case": "", "peak_mb": 0.0})
        c["cases"] += 1
        c["clean"] += o.case.name not in problems
        if seconds > c["worst_seconds"]:
            c["worst_seconds"], c["worst_case"] = round(seconds, 2), o.case.name
        c["peak_mb"] = round(max(c["peak_mb"], mb), 1)
    return {"cases_tried": len(outcomes), "cases_handled_cleanly": len(outcomes) - len(problems),
            "files_left_behind": sum(len(o.changed) for o in outcomes), "exit_codes": {
                str(code): sum(o.exit_code == code for o in outcomes) for code in sorted({o.exit_code for o in outcomes})},
            "classes": classes, "problems": problems}


# ---------------------------------------------------------------------------- the API and the studio
def _measured(run) -> tuple[str | None, float, float]:
    """(a problem or None, seconds, peak MB of Python and NumPy allocations) of run()."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        problem = run()
    except Exception as e:  # noqa: BLE001  (anything but the expected refusal is a problem to report)
        problem = f"{type(e).__name__}: {str(e)[:200]}"
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    if problem is None and seconds > TARGET_SECONDS:
        problem = f"took {seconds:.1f} s"
    return problem, seconds, peak


def api_and_studio() -> dict:
    """Every case of API_CASES and HTTP_CASES: refused cleanly, with its time and peak memory."""
    import chorale
    from starlette.testclient import TestClient

    from chorale import ChoraleError
    from chorale.studio.server import create_app

    model = chorale.load_model()
    results = {}

    def api_case(call, words):
        def run():
            try:
                call(model)
            except ChoraleError as e:
                text = str(e)
                return None if words in text and "\n" not in text else f"said {text[:120]!r}"
            return "accepted"
        return run

    def http_case(client, path, request, status, words):
        def run():
            try:
                check_answer(client.post(path, **request), status, words)
            except AssertionError as e:
                return f"answer: {str(e)[:200]}"
        return run

    with TestClient(create_app(model=model), raise_server_exceptions=False) as client:
        for group, cases in (("api", [(n, api_case(c, w)) for n, c, w in API_CASES]),
                             ("http", [(n, http_case(client, p, r, st, w)) for n, p, r, st, w in HTTP_CASES])):
            for name, run in cases:
                problem, seconds, peak = _measured(run)
                results[f"{group}: {name}"] = {"clean": problem is None, "problem": problem,
                                               "seconds": round(seconds, 2), "peak_mb": round(peak, 1)}
    return results


def studio_under_load(small_bars: int = 16) -> dict:
    """Seconds for a small generate on a real studio: alone, while a regeneration at the
    studio's work budget runs, and after that request's client left (its work cancelled)."""
    import http.client
    import socket
    import threading
    from urllib.parse import urlsplit

    from chorale.studio.server import serving

    def post(port, path, body, timeout=600):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        connection.close()
        return response.status

    def small(port):
        start = time.perf_counter()
        status = post(port, "/api/generate", {"seed": 1, "bars": small_bars})
        return round(time.perf_counter() - start, 2), status

    big = {"piece": {"grid": _random_grid(limits.STUDIO_MAX_BARS * 16).tolist()}, "bars": [1, limits.STUDIO_MAX_BARS],
           "candidates": limits.STUDIO_MAX_CANDIDATES, "seed": 1}
    result = {}
    with serving() as (url, _):
        port = urlsplit(url).port
        small(port)  # warm
        result["alone"] = small(port)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        outcome = {}

        def run_big():
            start = time.perf_counter()
            try:
                connection.request("POST", "/api/regenerate", json.dumps(big), {"Content-Type": "application/json"})
                outcome["status"] = connection.getresponse().status
            except OSError as e:
                outcome["status"] = type(e).__name__
            outcome["seconds"] = round(time.perf_counter() - start, 1)

        worker = threading.Thread(target=run_big)
        worker.start()
        time.sleep(2)
        result["while a request at the work budget runs"] = small(port)
        connection.sock.shutdown(socket.SHUT_RDWR)  # the client leaves
        worker.join()
        time.sleep(0.5)
        result["after its client left (cancelled)"] = small(port)
        start = time.perf_counter()  # the heavy lane is free again: a second budget request gets going at once
        status = post(port, "/api/regenerate", {**big, "candidates": 1})
        result["a 64-bar, 1-candidate regenerate after the cancel"] = (round(time.perf_counter() - start, 2), status)
        result["budget request"] = outcome
    return result


# ---------------------------------------------------------------------------- inputs at the limits
def _random_grid(steps: int, seed: int = 0) -> np.ndarray:
    """The worst chorale for every writer: a new note in every voice at every step."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(lo, lo + 12, steps) for lo in (60, 55, 48, 36)], 1)


def _csv(path: Path, grid) -> None:
    from chorale.io.csvfile import write_csv

    write_csv(path, grid)


def _dense_midi(path: Path) -> None:
    """A MIDI file at the size limit: one note after another, a tick apart."""
    import mido

    track = mido.MidiTrack()
    pairs = limits.MAX_MIDI_BYTES // 9
    for i in range(pairs):
        track.append(mido.Message("note_on", note=60 + i % 12, velocity=80, time=1))
        track.append(mido.Message("note_off", note=60 + i % 12, velocity=0, time=0))
    midi = mido.MidiFile(type=0, ticks_per_beat=960)
    midi.tracks.append(track)
    midi.save(path)


def _big_dataset(path: Path) -> None:
    """A zip just within the archive budget: chorales of MAX_STEPS steps."""
    text = ("note0,note1,note2,note3\n" + "".join(f"{a},{b},{c},{d}\n" for a, b, c, d in _random_grid(limits.MAX_STEPS)))
    count = limits.MAX_ARCHIVE_BYTES // len(text)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(count):
            z.writestr(f"train/c{i}.csv", text)


def _big_mxl(path: Path) -> None:
    """An .mxl whose score is just under the uncompressed limit: as many notes as fit."""
    from chorale.io.musicxml import to_score

    steps = 1024  # a 1024-step score of 16ths is about 1.25 MB of XML: scale it to just under the limit
    with tempfile.TemporaryDirectory() as folder:
        score = Path(folder) / "s.musicxml"
        while True:
            to_score(_random_grid(steps)).write("musicxml", fp=score)
            if score.stat().st_size <= limits.MAX_MUSIC_BYTES:
                break
            steps = int(steps * 0.97 * limits.MAX_MUSIC_BYTES / score.stat().st_size)
        xml = score.read_bytes()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/container.xml", '<container><rootfiles><rootfile full-path="s.musicxml"/></rootfiles></container>')
        z.writestr("s.musicxml", xml)


def _big_series(path: Path) -> None:
    rows = limits.MAX_SERIES_ROWS
    values = np.sin(np.arange(rows) / 50) * 1e6 + np.arange(rows)
    path.write_text("y\n" + "\n".join(f"{v:.6f}" for v in values) + "\n")


AUDIO_STEPS = int(limits.MAX_AUDIO_SECONDS / 60 * 72 * 4)  # the audio limit at the default tempo
LIMITS = [  # name, make the input (path -> None), file name, command after `chorale`
    ("CSV at the step limit to MIDI and PNG", lambda p: _csv(p, _random_grid(limits.MAX_STEPS)), "long.csv",
     "render long.csv --midi o.mid --png o.png"),
    ("CSV at the audio limit to WAV", lambda p: _csv(p, _random_grid(AUDIO_STEPS)), "audio.csv",
     "render audio.csv --wav o.wav"),
    ("CSV at the notation limit to MusicXML", lambda p: _csv(p, _random_grid(limits.MAX_SCORE_STEPS)), "score.csv",
     "render score.csv --musicxml o.musicxml"),
    ("CSV at the notation limit to sheet music", lambda p: _csv(p, _random_grid(limits.MAX_SCORE_STEPS)), "sheet.csv",
     "render sheet.csv --sheet o.pdf"),
    ("MIDI at the size limit", _dense_midi, "dense.mid", "render dense.mid --midi o.mid"),
    (".mxl with a score at the size limit", _big_mxl, "big.mxl", "render big.mxl --midi o.mid"),
    ("zip at the archive budget", _big_dataset, "big.zip", "data info big.zip"),
    ("series CSV at the row limit (naive)", _big_series, "series.csv",
     "forecast csv series.csv --column y --model naive --uncertainty 0"),
    ("series CSV at the size limit", lambda p: p.write_text("y\n" + "1\n" * (limits.MAX_TEXT_BYTES // 2 - 2)),
     "ones.csv", "forecast csv ones.csv --column y --model naive --uncertainty 0"),
    # the work budget (issue 24): refused before any work, or run within the memory target
    ("generate 1000 x 20,000 steps (refused)", lambda p: None, "-", "generate --count 1000 --length 20000 --out o.mid"),
    ("harmonize 20,000 steps x 1000 candidates (refused)",
     lambda p: _csv(p, _random_grid(limits.MAX_STEPS) * [1, 0, 0, 0]), "melody.csv", "harmonize melody.csv --candidates 1000 --out o.mid"),
    ("regenerate 1 bar of 20,000 steps (8 candidates)", lambda p: _csv(p, _random_grid(limits.MAX_STEPS)), "long.csv",
     "regenerate long.csv --bars 600-600 --seed 1 --out o.mid"),
    ("regenerate 1 bar of 20,000 steps x 1000 candidates", lambda p: _csv(p, _random_grid(limits.MAX_STEPS)),
     "long.csv", "regenerate long.csv --bars 600-600 --candidates 1000 --seed 1 --out o.mid"),
]


def at_limits() -> dict:
    results = {}
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "TF_CPP_MIN_LOG_LEVEL": "3"}
    for name, make, filename, command in LIMITS:
        with tempfile.TemporaryDirectory() as folder:
            make(Path(folder) / filename)
            size = (Path(folder) / filename).stat().st_size if filename != "-" else 0
            rss = Path(folder) / "rss.txt"  # GNU time writes the child's peak resident set (KB) here
            start = time.perf_counter()
            done = subprocess.run(["/usr/bin/time", "-o", str(rss), "-f", "%M", sys.executable, "-m", "chorale",
                                   *command.split()], cwd=folder, env=env, capture_output=True, text=True, timeout=600)
            seconds = time.perf_counter() - start
            peak = round(int(rss.read_text().split()[-1]) / 1024)
        output = (done.stdout if done.returncode == 0 else done.stderr).strip()  # not TensorFlow's log
        results[name] = {"input_bytes": size, "exit_code": done.returncode, "seconds": round(seconds, 1),
                         "peak_rss_mb": peak, "within_target": seconds <= TARGET_SECONDS and peak <= TARGET_MB,
                         "last_line": output.splitlines()[-1][:160] if output else ""}
    return results


# ---------------------------------------------------------------------------- fuzzing
def fuzz(examples: int) -> dict:
    results = {}
    for name in fuzz_targets.TARGETS:
        count = [0]
        start = time.perf_counter()
        try:
            fuzz_targets.fuzz(name, examples, on_example=lambda: count.__setitem__(0, count[0] + 1))
            failure = None
        except Exception as e:  # a falsifying example: report it, go on with the other targets
            failure = f"{type(e).__name__}: {str(e).strip()[:300]}"
        results[name] = {"examples": count[0], "seconds": round(time.perf_counter() - start, 1), "failure": failure}
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500, help="Hypothesis examples per fuzz target.")
    parser.add_argument("--skip-limits", action="store_true", help="Do not run the inputs at the size limits.")
    args = parser.parse_args()
    start = time.perf_counter()
    result = {"catalogue": catalogue(), "api_and_studio": api_and_studio(),
              "limits": {} if args.skip_limits else at_limits(), "studio_under_load": studio_under_load(),
              "fuzz": fuzz(args.examples)}
    result["seconds"] = round(time.perf_counter() - start, 1)
    c = result["catalogue"]
    print(f"{'catalogue class':<12} {'cases':>6} {'clean':>6} {'worst s':>8} {'peak MB':>8}  slowest case")
    for group, g in c["classes"].items():
        print(f"{group:<12} {g['cases']:>6} {g['clean']:>6} {g['worst_seconds']:>8.2f} {g['peak_mb']:>8.1f}  {g['worst_case']}")
    print(f"{'all':<12} {c['cases_tried']:>6} {c['cases_handled_cleanly']:>6}"
          f"   files left behind: {c['files_left_behind']}; exit codes: "
          f"{', '.join(f'{k}: {v}' for k, v in c['exit_codes'].items())}")
    for name, found in c["problems"].items():
        print(f"  NOT CLEAN {name}: {'; '.join(found)[:300]}")
    cases = result["api_and_studio"]
    for group in ("api", "http"):
        mine = {k: v for k, v in cases.items() if k.startswith(group)}
        worst = max(mine, key=lambda k: mine[k]["seconds"])
        print(f"{group + ' cases':<12} {len(mine):>6} {sum(v['clean'] for v in mine.values()):>6} "
              f"{mine[worst]['seconds']:>8.2f} {max(v['peak_mb'] for v in mine.values()):>8.1f}  {worst}")
    for name, r in cases.items():
        if not r["clean"]:
            print(f"  NOT CLEAN {name}: {r['problem']}")
    if result["limits"]:
        print(f"\n{'input at a limit':<42} {'MB in':>6} {'exit':>4} {'s':>6} {'RSS MB':>7}  ok  last line")
        for name, r in result["limits"].items():
            print(f"{name:<42} {r['input_bytes'] / 1e6:>6.1f} {r['exit_code']:>4} {r['seconds']:>6.1f} "
                  f"{r['peak_rss_mb']:>7.0f}  {'yes' if r['within_target'] else 'NO '} {r['last_line'][:60]}")
    print(f"\n{'studio under load: a ' + str(16) + '-bar generate':<52} {'seconds':>8} {'status':>6}")
    for name, r in result["studio_under_load"].items():
        if isinstance(r, tuple):
            print(f"{name:<52} {r[0]:>8.2f} {r[1]:>6}")
        else:
            print(f"{name:<52} {r}")
    print(f"\n{'fuzz target':<42} {'examples':>8} {'seconds':>8}  result")
    for name, r in result["fuzz"].items():
        print(f"{name:<42} {r['examples']:>8} {r['seconds']:>8.1f}  {r['failure'] or 'ok'}")
    RESULTS.parent.mkdir(exist_ok=True)
    with atomic_write(RESULTS) as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
