"""`chorale data build --from DIR`: one's own scores in every format become a dataset;
what cannot be one is listed with the reason, and a folder with nothing usable writes nothing."""

import csv
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("music21")
from music21 import meter, note, stream

import chorale
from chorale.cli import cli
from chorale.data import corpus
from chorale.data.loader import load
from chorale.io.csvfile import read_csv
from chorale.io.files import bundled

CSV = bundled("chorales") / "test" / "chorale_004.csv"


def four_voices(time_signature: str, voices=("Soprano", "Alto", "Tenor", "Bass")):
    score = stream.Score()
    for i, name in enumerate(voices):
        part = stream.Part([meter.TimeSignature(time_signature)] + [note.Note(72 - 5 * i, quarterLength=0.5)
                                                                    for _ in range(14)])
        part.partName = name
        score.insert(0, part)
    return score


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Good scores in every format, and one of each kind of bad file."""
    root = tmp_path_factory.mktemp("scores")
    (root / "kern").mkdir()
    for name in ("bwv269.mxl", "bwv10.7.mxl", "bwv27.6.mxl"):  # 3/4 with fermatas, 4/4, five voices
        shutil.copy(corpus.corpus_root() / "bach" / name, root)
    shutil.copy(corpus.corpus_root() / "bach" / "bwv277.krn", root / "kern")
    shutil.copy(CSV, root / "kern" / "jsb.csv")
    chorale.load(CSV).save(root / "exported.mid")
    four_voices("7/8").write("musicxml", root / "seven.musicxml")
    four_voices("4/4", ("Flute", "Oboe", "Viola", "Cello")).write("musicxml", root / "unnamed.xml")
    (root / "broken.mxl").write_bytes(b"PK\x03\x04 not really a zip")
    (root / "notes.txt").write_text("rehearsal on Tuesday")
    (root / ".hidden.mid").write_bytes(b"ignored: hidden")
    return root


def manifest(out) -> list[dict]:
    with open(out / "manifest.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def built(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("built") / "ds"
    return out, chorale.build_dataset(folder, out)


def test_every_format_becomes_a_chorale_and_the_rest_is_listed(built):
    out, built = built
    assert built["chorales"] == 6 and sum(built["splits"].values()) == 6
    reasons = dict(built["skipped"])
    assert set(reasons) == {"broken.mxl", "bwv27.6.mxl", "notes.txt", "seven.musicxml"}
    assert "2 soprano parts" in reasons["bwv27.6.mxl"] and "7/8" in reasons["seven.musicxml"]
    assert "not readable MusicXML" in reasons["broken.mxl"] and "not a score file" in reasons["notes.txt"]
    rows = {r["source"]: r for r in manifest(out)}
    assert list(rows) == ["bwv10.7.mxl", "bwv269.mxl", "exported.mid", "kern/bwv277.krn", "kern/jsb.csv", "unnamed.xml"]
    bach = corpus.convert("bach/bwv269.mxl")  # the corpus builder's grid, key, meter and fermatas
    row = rows["bwv269.mxl"]
    assert (row["key"], row["time_signature"], row["fermatas"]) == ("G major", "3/4", "40 76 112 160 208 244")
    assert row["bwv"] == "" and row["steps"] == str(len(bach.notes))
    assert rows["kern/bwv277.krn"]["title"] == "25. Christ lag in Todesbanden" and rows["kern/bwv277.krn"]["fermatas"]
    assert rows["exported.mid"]["time_signature"] == "4/4" and rows["kern/jsb.csv"]["time_signature"] == ""
    dataset = load(out)
    by_source = {r["source"]: f"{r['split']}/{r['id']}.csv" for r in rows.values()}
    notes = {c.source: c.grid for split in dataset.splits.values() for c in split}
    np.testing.assert_array_equal(notes[by_source["bwv269.mxl"]], bach.notes)
    np.testing.assert_array_equal(notes[by_source["exported.mid"]], read_csv(CSV))  # MIDI round trip is exact
    np.testing.assert_array_equal(notes[by_source["kern/jsb.csv"]], read_csv(CSV))
    unnamed = notes[by_source["unnamed.xml"]]
    assert unnamed[0].tolist() == [72, 67, 62, 57]  # four unnamed parts: voices by pitch


def test_the_split_follows_the_melody(built):
    out, built = built
    rows = {r["source"]: r["split"] for r in manifest(out)}
    assert rows["exported.mid"] == rows["kern/jsb.csv"]  # the same chorale twice: twins share a split
    assert built["splits"] == {s: list(rows.values()).count(s) for s in dict.fromkeys(rows.values())}


def one_line_error(result, *words):
    lines = [line for line in result.output.strip().splitlines() if not line.startswith(("  skipped ", "Parsing "))]
    assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert all(w in lines[0] for w in words), lines[0]


def test_nothing_usable_writes_nothing(folder, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("broken.mxl", "bwv27.6.mxl", "seven.musicxml", "notes.txt"):
        shutil.copy(folder / name, bad)
    result = CliRunner().invoke(cli, ["data", "build", "--from", str(bad), "--out", str(tmp_path / "ds")])
    one_line_error(result, str(bad), "no usable score", "nothing written")
    assert result.output.count("  skipped ") == 4
    assert not (tmp_path / "ds").exists() and [p.name for p in tmp_path.iterdir()] == ["bad"]


def test_a_folder_without_scores_is_refused(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("a")
    (tmp_path / "docs" / "b.pdf").write_bytes(b"%PDF")
    runner = CliRunner()
    one_line_error(runner.invoke(cli, ["data", "build", "--from", str(tmp_path / "docs")]), "no score files",
                   "only 2 other files")
    one_line_error(runner.invoke(cli, ["data", "build", "--from", str(tmp_path / "nowhere")]), "no such folder")
    assert not (tmp_path / "outputs").exists()


def test_the_cli_summarizes_and_an_existing_dataset_needs_force(folder, tmp_path):
    (tmp_path / "mine").mkdir()
    for name in ("kern/jsb.csv", "notes.txt"):
        shutil.copy(folder / name, tmp_path / "mine")
    runner = CliRunner()
    args = ["data", "build", "--from", str(tmp_path / "mine"), "--out", str(tmp_path / "ds")]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "skipped notes.txt: not a score file (.txt)" in result.output
    assert f"Wrote {tmp_path / 'ds'}: 1 chorales kept (" in result.output and "1 skipped" in result.output
    one_line_error(runner.invoke(cli, args), "already exists")
    assert runner.invoke(cli, [*args, "--force"]).exit_code == 0


@pytest.mark.slow
def test_a_built_dataset_trains_and_evaluates(tmp_path):
    scores = tmp_path / "scores"
    scores.mkdir()
    for csv_file in sorted((bundled("chorales") / "train").glob("*.csv"))[:12]:
        chorale.load(csv_file).save(scores / f"{csv_file.stem}.musicxml")
    built = chorale.build_dataset(scores, tmp_path / "ds")
    assert built["chorales"] == 12 and not built["skipped"]
    runner = CliRunner()
    result = runner.invoke(cli, ["train", "--data", str(tmp_path / "ds"), "--epochs", "1", "--arch", "wavenet",
                                 "-o", "filters=4", "-o", "dilations=(1,2)", "-o", "embed_dim=4", "--seed", "1",
                                 "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    split = next(s for s in ("test", "valid") if s in built["splits"])
    result = runner.invoke(cli, ["evaluate", "--model", str(tmp_path / "run"), "--data", str(tmp_path / "ds"),
                                 "--split", split])
    assert result.exit_code == 0 and "windowed" in result.output, result.output


@pytest.mark.slow
def test_a_test_chorale_beyond_the_training_range_is_scored(tmp_path, random_dataset):
    from chorale.io.csvfile import write_csv
    from chorale.model.train import train
    data = random_dataset(tmp_path / "data", counts=(("train", 3), ("valid", 2)))
    (data / "test").mkdir()
    write_csv(data / "test" / "high.csv", read_csv(data / "train" / "chorale_000.csv") + 12)  # an octave up
    card = train(tmp_path / "run", data=data, arch="wavenet", epochs=1, batch_size=4, seed=1, options=dict(filters=4, dilations=(1, 2), embed_dim=4), verbose=0)
    assert card["vocabulary"]["high"] >= read_csv(data / "test" / "high.csv").max()
    assert card["metrics"]["test"]["chorales"] == 1
