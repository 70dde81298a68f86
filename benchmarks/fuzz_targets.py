"""Fuzz targets for the input boundaries: the CSV and archive loader, the MIDI and MusicXML
importers, the encoding, every command's option values and titles, the API's keyword
arguments and the studio's JSON bodies. tests/test_fuzz.py runs each for its example
count; benchmarks/robustness.py runs them longer.

Arbitrary bytes and near-valid files (a valid file with a few bytes or tokens changed)
may be accepted or refused, but refused only with ChoraleError: nothing else may escape.
Valid data always round-trips.
"""

from __future__ import annotations

import io
import functools
import math
import unicodedata
import tarfile
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import mido
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import click

from chorale import ChoraleError
from chorale.cli import cli
from chorale.io.csvfile import HEADER, parse_csv, read_csv, write_csv
from chorale.data.loader import load
from chorale.encoding import MIDI_HIGH, MIDI_LOW, N_VOICES, Vocabulary
from chorale.io.midi import clean_title, midi_text, to_midi, write_midi
from chorale.io.scores import read_grid
from chorale.io.musicxml import to_score

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
        start = time.perf_counter()
        try:
            return read(path)
        except ChoraleError as e:
            assert "\n" not in str(e) and str(path) in str(e)  # one line, naming the file
            return None
        finally:
            assert time.perf_counter() - start < 5, "a small input took more than 5 s"


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


def _numeric_options():
    """(command, option) for every option of every command whose type is a number range."""
    def walk(group, path):
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                yield from walk(command, path + [name])
            else:
                yield from ((" ".join(path + [name]), p) for p in command.params
                            if isinstance(p.type, (click.IntRange, click.FloatRange)))
    return list(walk(cli, []))


NUMERIC_OPTIONS = _numeric_options()
OPTION_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers(-2**70, 2**70).map(str),
    st.sampled_from(["nan", "-nan", "inf", "-inf", "Infinity", "1e308", "1e-320", "4294967296", "-1", "0", "1e30"]),
    st.text(max_size=8))


def option_is_checked(case):
    """Any text for any numeric option: refused as a usage error, or a finite value within the
    option's range, so the code behind the CLI can trust it."""
    (command, param), text = case
    try:
        value = param.type.convert(text, param, click.Context(cli))
    except click.BadParameter:
        return
    t = param.type
    assert math.isfinite(value), (command, param.name, text)
    assert t.min is None or value >= t.min and not (t.min_open and value == t.min), (command, param.name, text)
    assert t.max is not None, f"{command} {param.name}: a number option needs a maximum"
    assert value <= t.max and not (t.max_open and value == t.max), (command, param.name, text)


def text_option_is_checked(text: str):
    """Any Unicode for --instrument and --primer, checked before anything else runs: one
    `Error:` line (exit 1 or 2), never a traceback."""
    from click.testing import CliRunner

    for args in (["render", "--instrument", text, "nowhere.csv", "--midi", "o.mid"],
                 ["generate", "--primer", text, "--model", "nowhere"]):
        result = CliRunner().invoke(cli, args)
        errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
        assert result.exit_code in (1, 2) and len(errors) == 1, (args, result.output)
        assert isinstance(result.exception, SystemExit), result.exception


def render_is_whole_or_refused(case):
    """`chorale render` of a near-valid CSV or MIDI file: exit 0 with a whole MIDI file, or
    one `Error:` line, exit 1, and nothing written; within 5 s."""
    from click.testing import CliRunner

    suffix, data = case
    with tempfile.TemporaryDirectory() as folder:
        source, out = Path(folder) / f"in{suffix}", Path(folder) / "out.mid"
        source.write_bytes(data)
        start = time.perf_counter()
        result = CliRunner().invoke(cli, ["render", str(source), "--midi", str(out)])
        assert time.perf_counter() - start < 5
        assert isinstance(result.exception, (SystemExit, type(None))), result.exception
        if result.exit_code == 0:  # a whole MIDI file (of rests only, if the input had no notes)
            assert len(mido.MidiFile(out).tracks) == 1 + N_VOICES
        else:
            lines = result.output.strip().splitlines()
            assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("Error: "), result.output
            assert sorted(p.name for p in Path(folder).iterdir()) == [source.name]


def title_is_stored(title: str):
    """Any Unicode title: the MIDI track name is Latin-1 without control characters, the
    MIDI file saves, and the MusicXML score holds only characters XML can store."""
    name = midi_text(title)
    name.encode("latin-1")
    for text in (name, clean_title(title)):
        assert not any(unicodedata.category(c) in ("Cc", "Cs") for c in text), text
    to_midi(np.array([[60, 55, 52, 48]]), title=title).save(file=io.BytesIO())
    assert to_score(np.array([[60, 55, 52, 48]]), title=title).metadata.title == clean_title(title)


def tgz_damage_is_detected(case):
    """Any byte changed in a .tgz's compressed payload (after the 10-byte gzip header the
    checksum does not cover): refused, or read whole; never a partial dataset."""
    grid_list, position, value = case
    original = archive_bytes(".tgz", [(f"train/{i}.csv", csv_bytes(g)) for i, g in enumerate(grid_list)])
    data = bytearray(original)
    at = 10 + position % (len(data) - 10)
    if data[at] == value:
        return
    data[at] = value
    dataset = _refused_cleanly(load, ".tgz", bytes(data))
    if dataset is not None:
        assert [c.grid.tolist() for c in dataset["train"]] == [g.tolist() for g in grid_list]


MUSICXML_SEEDS = ([[60, 55, 52, 48]] * 4 + [[62, 57, 53, 50]] * 4, [[72, 0, 64, 40], [71, 67, 0, 43]] * 3)


@functools.cache
def musicxml_seed(i: int) -> bytes:
    """A small valid MusicXML file (written once: music21 is slow and uses `random`)."""
    with tempfile.TemporaryDirectory() as folder:
        to_score(np.array(MUSICXML_SEEDS[i])).write("musicxml", fp=Path(folder) / "s.musicxml")
        return (Path(folder) / "s.musicxml").read_bytes()


def musicxml_never_crashes(case):
    i, edits = case
    grid = _refused_cleanly(read_grid, ".musicxml", mutated(musicxml_seed(i), edits))
    assert grid is None or (grid.ndim == 2 and grid.shape[1] == N_VOICES)


def csv_line_endings(case):
    """Any line ending (LF, CRLF, CR) reads the same grid."""
    grid, ending = case
    text = HEADER + ending + "".join(",".join(map(str, row)) + ending for row in grid)
    np.testing.assert_array_equal(parse_csv(text, "c.csv"), grid)


MUSICXML_EDITS = st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(["replace", "insert", "delete"]),
                                    st.sampled_from([b"-", b"0", b"-1", b"<", b">", b"999999", b"\x01", b"nan",
                                                     b"<backup><duration>9</duration></backup>"])),
                          min_size=1, max_size=3)


# name -> (strategy, property, examples in the test suite); the benchmark runs more
# ---------------------------------------------------------------------------- the API and the studio
FUZZ_BUDGET = 1024  # tokens of work an accepted fuzz call may do: every call stays a fraction of a second
ODD_NUMBERS = [0, 1, -1, 2, 1.5, 1e-300, 1e300, math.nan, math.inf, -math.inf, 2**31, 2**64, True, False]
VALUES = st.one_of(st.none(), st.sampled_from(ODD_NUMBERS), st.integers(-10**6, 10**6),
                   st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(TRICKY), st.text(max_size=12),
                   st.lists(st.one_of(st.integers(-5, 100), st.text(max_size=3)), max_size=5),
                   st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
API_KEYWORDS = {
    "generate": ["count", "bars", "steps", "primer", "temperature", "top_k", "top_p", "greedy", "range_guard",
                 "voice_leading", "key", "fermatas", "plan", "plan_weight", "title", "progress"],
    "harmonize": ["voice", "part", "candidates", "temperature", "voice_leading", "key", "fermatas", "plan", "title"],
    "regenerate": ["bars", "voices", "keep", "candidates", "temperature", "voice_leading", "title"],
    "score": [],
}
API_CALLS = st.sampled_from(sorted(API_KEYWORDS)).flatmap(lambda name: st.tuples(
    st.just(name), st.dictionaries(st.sampled_from(API_KEYWORDS[name] or ["x"]), VALUES, max_size=3),
    st.one_of(grids(min_steps=1, max_steps=20), st.lists(st.one_of(st.integers(-5, 130), st.floats()), max_size=6),
              VALUES)))


@functools.cache
def _model():
    import chorale

    return chorale.load_model()


def api_keywords_are_checked(case):
    """Any keyword values: a result, or a ChoraleError (also a ValueError or TypeError for a
    bad argument); nothing else escapes, and nothing runs past the fuzz budget."""
    from chorale import checks
    from chorale.piece import Chorale

    name, kwargs, piece = case
    model = _model()
    kwargs = {k: v for k, v in kwargs.items() if name != "score"}
    with checks.work_budget(FUZZ_BUDGET, "MAX_WORK"):
        try:
            if name == "generate":
                result = model.generate(seed=1, **{"bars": 1, **kwargs})
            elif name == "harmonize":
                result = model.harmonize(piece, seed=1, **{"candidates": 1, **kwargs})
            elif name == "regenerate":
                result = model.regenerate(piece, seed=1, **{"bars": 1, "candidates": 1, **kwargs})
            else:
                result = model.score(piece)
        except ChoraleError:
            return
    assert isinstance(result, (Chorale, list, dict))


JSON_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                                     st.floats(allow_nan=False, allow_infinity=False),  # what JSON can say
                                     st.text(max_size=8), st.sampled_from(TRICKY)),
                           lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                           max_leaves=12)
STUDIO_FIELDS = ["seed", "bars", "key", "fermatas", "temperature", "primer", "voices", "candidates", "piece", "voice"]
STUDIO_BODIES = st.tuples(
    st.sampled_from(["/api/generate", "/api/regenerate", "/api/audio", "/api/export/csv", "/api/export/midi"]),
    st.dictionaries(st.sampled_from(STUDIO_FIELDS), JSON_VALUES, max_size=4),
    st.one_of(st.none(), grids(min_steps=1, max_steps=20).map(lambda g: g.tolist()),
              st.lists(st.lists(st.integers(-3, 130), max_size=5), max_size=5)),
    st.dictionaries(st.sampled_from(["tempo", "title", "key", "known_key", "fermatas"]), JSON_VALUES, max_size=3))


@functools.cache
def _studio():
    from starlette.testclient import TestClient

    from chorale.studio.server import create_app

    client = TestClient(create_app(model=_model()), raise_server_exceptions=False)
    client.__enter__()
    return client


def studio_json_is_answered(case):
    """Any JSON body to any JSON endpoint: 200, or a 4xx with one line; never a 500."""
    from chorale.studio import server

    path, body, grid, piece = case
    if grid is not None:
        body = {**body, "piece": {**piece, "grid": grid}}
    saved, server.STUDIO_MAX_WORK = server.STUDIO_MAX_WORK, FUZZ_BUDGET
    try:
        response = _studio().post(path, json=body)
    finally:
        server.STUDIO_MAX_WORK = saved
    assert response.status_code == 200 or 400 <= response.status_code < 500, (response.status_code, response.text)
    if response.status_code != 200:
        text = response.json()["error"]
        assert "\n" not in text and "Traceback" not in text


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
    "cli: numeric option values": (st.tuples(st.sampled_from(NUMERIC_OPTIONS), OPTION_VALUES), option_is_checked, 400),
    "titles: any Unicode": (st.text(max_size=20), title_is_stored, 15),
    "cli: text option values": (st.one_of(st.text(max_size=12), st.from_regex(r"[A-Za-z]{0,6}:[-+]?[0-9]{0,3}")),
                                text_option_is_checked, 200),
    "archive loader: damaged gzip payload": (st.tuples(st.lists(grids(min_steps=2, max_steps=8), min_size=1, max_size=3),
                                                       st.integers(0, 10_000), st.integers(0, 255)),
                                             tgz_damage_is_detected, 150),
    "musicxml importer: near-valid files": (st.tuples(st.integers(0, len(MUSICXML_SEEDS) - 1), MUSICXML_EDITS),
                                            musicxml_never_crashes, 25),
    "cli: render near-valid files": (st.one_of(near_valid(csv_bytes).map(lambda b: (".csv", b)),
                                               near_valid(midi_bytes, grids(max_steps=8)).map(lambda b: (".mid", b))),
                                     render_is_whole_or_refused, 40),
    "csv loader: any line ending": (st.tuples(grids(), st.sampled_from(["\n", "\r\n", "\r"])), csv_line_endings, 60),
    "api: keyword arguments": (API_CALLS, api_keywords_are_checked, 60),
    "studio: JSON bodies": (STUDIO_BODIES, studio_json_is_answered, 60),
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
