"""Fuzzing the input boundaries: each target of benchmarks/fuzz_targets.py (loaders,
importers, encoding, option values, titles, the API's keywords, the studio's JSON) for its
example count. Anything refused is refused with ChoraleError; valid data round-trips."""

import pytest

from benchmarks.fuzz_targets import TARGETS, fuzz


@pytest.mark.parametrize("name", TARGETS)
def test_fuzz_target(name):
    fuzz(name, TARGETS[name][2])
