"""Fuzzing the input boundaries: the CSV and archive loader, the MIDI importer and the encoding.

Arbitrary bytes and near-valid files (a valid file with a few bytes or tokens changed)
may be accepted or refused, but refused only with ChoraleError: nothing else may escape.
Valid data always round-trips. `benchmarks/robustness.py` runs these same targets longer.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chorale import ChoraleError
from chorale.data.loader import HEADER, load, read_csv, write_csv
from chorale.encoding import MIDI_HIGH, MIDI_LOW, N_VOICES, Vocabulary
from chorale.io.midi import read_grid, to_midi, write_midi

PITCHES = st.sampled_from([0, *range(MIDI_LOW, MIDI_HIGH + 1)])
TRICKY = ["", ",", "\n", "\r", " ", "-1", "0", "60", "128", "1e3", "6.5", "nan", "99999999999999999999",
          "²", "١", "\x00", "\ufeff", '"', "note0", ",,,,"]


@st.composite
def grids(draw, min_steps=1, max_steps=24, pitches=PITCHES):
    rows = draw(st.lists(st.lists(pitches, min_size=N_VOICES, max_size=N_VOICES),
                         min_size=min_steps, max_size=max_steps))
    return np.array(rows, dtype=np.int32)


def mutated(data: bytes, edits) -> bytes:
    """`data` with each (position, how, payload) edit applied: replace, insert, delete or cut."""
    data = bytearray(data)
    for position, how, payload in edits:
        at = position % (len(data) + 1)
        if how == "replace":
            data[at:at + len(payload)] = payload
        elif how == "insert":
            data[at:at] = payload
        elif how == "delete":
            del data[at:at + max(len(payload), 1)]
        else:
            del data[at:]
    return bytes(data)


EDITS = st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(["replace", "insert", "delete", "cut"]),
                           st.one_of(st.binary(min_size=1, max_size=4),
                                     st.sampled_from(TRICKY).map(str.encode))), min_size=1, max_size=4)


def csv_bytes(grid) -> bytes:
    return (HEADER + "\n" + "".join(",".join(map(str, row)) + "\n" for row in grid)).encode()


def midi_bytes(grid) -> bytes:
    buffer = io.BytesIO()
    to_midi(grid).save(file=buffer)
    return buffer.getvalue()


def near_valid(serialize, grid_strategy=grids()):
    return st.tuples(grid_strategy, EDITS).map(lambda t: mutated(serialize(t[0]), t[1]))


def archive_bytes(kind: str, names_and_data) -> bytes:
    buffer = io.BytesIO()
    if kind == ".zip":
        with zipfile.ZipFile(buffer, "w") as z, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate member names are part of the fuzz
            for name, data in names_and_data:
                z.writestr(name, data)
    else:
        with tarfile.open(fileobj=buffer, mode="w:gz") as t:
            for name, data in names_and_data:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


MEMBER_NAMES = st.sampled_from(["train/a.csv", "valid/b.csv", "test/c.csv", "manifest.csv", "x/../y.csv",
                                "../a.csv", "/abs.csv", "train/", "C:/a.csv", "._a.csv", "a\\..\\b.csv"])
ARCHIVES = st.tuples(st.sampled_from([".zip", ".tgz"]),
                     st.lists(st.tuples(MEMBER_NAMES, st.one_of(st.binary(max_size=64), grids().map(csv_bytes))),
                              min_size=1, max_size=3), EDITS | st.just([]))


# ---------------------------------------------------------------------------- the properties
def _refused_cleanly(read, suffix: str, data: bytes):
    """`read` the bytes saved as a file: a result, or None when refused with ChoraleError."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"in{suffix}"
        path.write_bytes(data)
        try:
            return read(path)
        except ChoraleError as e:
            assert "\n" not in str(e) and str(path) in str(e)  # one line, naming the file
            return None


def csv_never_crashes(data: bytes):
    grid = _refused_cleanly(read_csv, ".csv", data)
    assert grid is None or (grid.ndim == 2 and grid.shape[1] == N_VOICES and len(grid) > 0)


def csv_round_trips(grid):
    with tempfile.TemporaryDirectory() as folder:
        write_csv(Path(folder) / "c.csv", grid)
        np.testing.assert_array_equal(read_csv(Path(folder) / "c.csv"), grid)


def archive_never_crashes(archive):
    kind, members, edits = archive
    _refused_cleanly(load, kind, mutated(archive_bytes(kind, members), edits))


def midi_never_crashes(data: bytes):
    grid = _refused_cleanly(read_grid, ".mid", data)
    assert grid is None or (grid.ndim == 2 and grid.shape[1] == N_VOICES)


def midi_round_trips(grid):
    with tempfile.TemporaryDirectory() as folder:
        write_midi(Path(folder) / "g.mid", grid)
        np.testing.assert_array_equal(read_grid(Path(folder) / "g.mid"), grid)


VOCABULARIES = st.integers(MIDI_LOW, MIDI_HIGH).flatmap(lambda low: st.integers(low, MIDI_HIGH).map(
    lambda high: Vocabulary(low, high)))


def encoding_never_crashes(case):
    """Any integers: encode refuses pitches outside the vocabulary, decode refuses tokens outside it."""
    vocab, values = case
    for convert in (vocab.encode, vocab.decode):
        try:
            convert(values)
        except ChoraleError:
            pass


def encoding_round_trips(case):
    vocab, grid = case
    tokens = vocab.encode(grid)
    assert tokens.min() >= 0 and tokens.max() < vocab.size
    np.testing.assert_array_equal(vocab.decode(tokens), grid)


def _in_vocabulary(vocab):
    return grids(pitches=st.sampled_from([0, *range(vocab.low, vocab.high + 1)])).map(lambda g: (vocab, g))


# name -> (strategy, property, examples in the test suite); the benchmark runs more
TARGETS = {
    "csv loader: arbitrary bytes": (st.binary(max_size=200), csv_never_crashes, 150),
    "csv loader: near-valid files": (near_valid(csv_bytes), csv_never_crashes, 150),
    "csv loader: round trip": (grids(), csv_round_trips, 60),
    "archive loader: near-valid archives": (ARCHIVES, archive_never_crashes, 100),
    "midi importer: arbitrary bytes": (st.one_of(st.binary(max_size=200), st.binary(max_size=200).map(
        lambda b: b"MThd\0\0\0\6" + b)), midi_never_crashes, 150),
    "midi importer: near-valid files": (near_valid(midi_bytes, grids(max_steps=8)), midi_never_crashes, 60),
    "midi importer: round trip": (grids(max_steps=16).filter(lambda g: g.any()), midi_round_trips, 25),
    "encoding: arbitrary integers": (st.tuples(VOCABULARIES, st.lists(st.integers(-2**40, 2**40), max_size=16).map(
        np.array)), encoding_never_crashes, 200),
    "encoding: round trip": (VOCABULARIES.flatmap(_in_vocabulary), encoding_round_trips, 200),
}


def fuzz(name: str, examples: int, on_example=None):
    """Run one target for `examples` examples; `on_example` is called once per example run."""
    strategy, prop, _ = TARGETS[name]

    def counted(value):
        if on_example:
            on_example()
        prop(value)

    settings(max_examples=examples, deadline=None, database=None,
             suppress_health_check=list(HealthCheck))(given(strategy)(counted))()


@pytest.mark.parametrize("name", TARGETS)
def test_fuzz_target(name):
    fuzz(name, TARGETS[name][2])
