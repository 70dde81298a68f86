"""How robust is the CLI? The bad-input catalogue, plus a longer run of every fuzz target.

    python benchmarks/robustness.py [--examples 500]

Runs each case of tests/test_bad_inputs.py (the same table the tests use) and counts the
cases handled cleanly (the expected exit code, one `Error:` line naming the problem, no
traceback, no file left or changed) and the files left behind (must be 0), then runs each
hypothesis target of tests/test_fuzz.py for --examples examples. Prints a table and writes
benchmarks/results/robustness.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests package holds the tables

from chorale.io.files import atomic_write  # noqa: E402
from tests import test_fuzz  # noqa: E402
from tests.test_bad_inputs import CASES, build_shared, run_case  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "robustness.json"


def catalogue() -> dict:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        shared = build_shared(root)
        try:
            outcomes = [run_case(case, root, shared) for case in CASES]
        finally:
            (root / "shared" / "readonly").chmod(0o755)  # so the folder can be removed
    problems = {o.case.name: o.problems() for o in outcomes if o.problems()}
    return {"cases_tried": len(outcomes), "cases_handled_cleanly": len(outcomes) - len(problems),
            "files_left_behind": sum(len(o.changed) for o in outcomes), "exit_codes": {
                str(code): sum(o.exit_code == code for o in outcomes) for code in sorted({o.exit_code for o in outcomes})},
            "problems": problems}


def fuzz(examples: int) -> dict:
    results = {}
    for name in test_fuzz.TARGETS:
        count = [0]
        start = time.perf_counter()
        try:
            test_fuzz.fuzz(name, examples, on_example=lambda: count.__setitem__(0, count[0] + 1))
            failure = None
        except Exception as e:  # a falsifying example: report it, go on with the other targets
            failure = f"{type(e).__name__}: {str(e).strip()[:300]}"
        results[name] = {"examples": count[0], "seconds": round(time.perf_counter() - start, 1), "failure": failure}
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500, help="Hypothesis examples per fuzz target.")
    args = parser.parse_args()
    start = time.perf_counter()
    result = {"catalogue": catalogue(), "fuzz": fuzz(args.examples)}
    result["seconds"] = round(time.perf_counter() - start, 1)
    c = result["catalogue"]
    print(f"{'cases tried':<40} {c['cases_tried']:>8}")
    print(f"{'cases handled cleanly':<40} {c['cases_handled_cleanly']:>8}")
    print(f"{'files left behind':<40} {c['files_left_behind']:>8}")
    print(f"{'exit codes':<40} {', '.join(f'{k}: {v}' for k, v in c['exit_codes'].items()):>8}")
    for name, found in c["problems"].items():
        print(f"  NOT CLEAN {name}: {'; '.join(found)[:300]}")
    print(f"\n{'fuzz target':<40} {'examples':>8} {'seconds':>8}  result")
    for name, r in result["fuzz"].items():
        print(f"{name:<40} {r['examples']:>8} {r['seconds']:>8.1f}  {r['failure'] or 'ok'}")
    RESULTS.parent.mkdir(exist_ok=True)
    with atomic_write(RESULTS) as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
