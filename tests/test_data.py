"""The CSV loader: every accepted layout, and every bad input with a message naming the problem."""

import io
import tarfile
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chorale import ChoraleError
from chorale.io.csvfile import HEADER, parse_csv, read_csv, write_csv
from chorale.data.loader import load
from chorale.encoding import Vocabulary

GRID = np.array([[74, 70, 65, 58], [74, 70, 65, 58], [75, 0, 67, 55], [0, 0, 0, 0]])


def shifted(grid, k):
    """The grid transposed by k semitones, rests kept."""
    return np.where(grid == 0, 0, grid + k)


def csv_text(rows, header=HEADER):
    return header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows)


def make_dataset(root, sizes=(3, 1, 1)):
    for split, n in zip(("train", "valid", "test"), sizes):
        (root / split).mkdir(parents=True)
        for i in range(n):
            write_csv(root / split / f"chorale_{i:03d}.csv", shifted(GRID, i))
    return root


def test_csv_round_trip(tmp_path):
    write_csv(tmp_path / "a.csv", GRID)
    assert (tmp_path / "a.csv").read_text().splitlines()[0] == HEADER
    np.testing.assert_array_equal(read_csv(tmp_path / "a.csv"), GRID)
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]  # no temp file left behind
    assert (tmp_path / "a.csv").stat().st_mode & 0o644 == 0o644  # readable like any other file


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.sampled_from([0, *range(21, 109)]), min_size=4, max_size=4), min_size=1, max_size=40))
def test_any_valid_grid_round_trips(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("rt") / "c.csv"
    write_csv(path, np.array(rows))
    np.testing.assert_array_equal(read_csv(path), np.array(rows))


def test_parse_accepts_crlf_and_bom():
    text = "\ufeff" + csv_text(GRID).replace("\n", "\r\n")
    np.testing.assert_array_equal(parse_csv(text, "x.csv"), GRID)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "x.csv: empty file"),
        ("note0,note1,note2,note3\n", "x.csv: no rows after the header"),
        ("a,b,c,d\n60,60,60,60\n", "x.csv: line 1: expected header"),
        ("note0,note1,note2\n60,60,60\n", "expected header"),
        (csv_text([[60, 60, 60, 60], [60, 60, 60]]), "x.csv: line 3: expected 4 values, got 3"),
        (csv_text([[60, 60, 60, 60, 60]]), "line 2: expected 4 values, got 5"),
        (csv_text([[60, "", 60, 60]]), "line 2, column note1: empty cell"),
        (csv_text([[60, 60, "nan", 60]]), "line 2, column note2: 'nan' is not a whole number"),
        (csv_text([[60, 60, 60, "61.5"]]), "column note3: '61.5' is not a whole number"),
        (csv_text([[60, 60, 60, 60], [60, 60, 60, 60], [60, 200, 60, 60]]), "line 4, column note1: pitch 200"),
        (csv_text([[60, 60, 60, 12]]), "column note3: pitch 12 is not 0 (rest) or a MIDI note 21..108"),
        (csv_text([[60, 60, -5, 60]]), "column note2"),
    ],
)
def test_bad_csv_names_the_problem(text, message):
    with pytest.raises(ChoraleError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        parse_csv(text, "x.csv")


def test_blank_lines_do_not_shift_reported_line():
    text = HEADER + "\n60,60,60,60\n\n60,60,300,60\n"
    with pytest.raises(ChoraleError, match="line 4, column note2: pitch 300"):
        parse_csv(text, "x.csv")


def test_binary_file_is_refused(tmp_path):
    (tmp_path / "b.csv").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ChoraleError, match="b.csv: not a text file"):
        read_csv(tmp_path / "b.csv")


def test_load_dataset_folder(tmp_path):
    ds = load(make_dataset(tmp_path / "ds"))
    assert {k: len(v) for k, v in ds.splits.items()} == {"train": 3, "valid": 1, "test": 1}
    assert ds["train"][1].source == "train/chorale_001.csv"
    np.testing.assert_array_equal(ds["train"][2].grid, shifted(GRID, 2))


def test_load_split_folder_and_single_csv(tmp_path):
    root = make_dataset(tmp_path / "ds")
    assert list(load(root / "valid").splits) == ["valid"]
    single = load(root / "train" / "chorale_000.csv")
    assert list(single.splits) == ["all"] and len(single["all"]) == 1


def test_missing_split_is_a_clear_error(tmp_path):
    ds = load(make_dataset(tmp_path / "ds") / "valid")
    with pytest.raises(ChoraleError, match="no 'test' split \\(it has: valid\\)"):
        ds["test"]


def test_fingerprint_changes_with_the_notes(tmp_path):
    a = load(make_dataset(tmp_path / "a"))
    b = load(make_dataset(tmp_path / "b"))
    assert a.fingerprint() == b.fingerprint()
    write_csv(tmp_path / "b" / "test" / "chorale_000.csv", shifted(GRID, 1))
    assert load(tmp_path / "b").fingerprint() != a.fingerprint()


@pytest.mark.parametrize("top", ["", "jsb_chorales/"])
def test_load_tgz_and_zip_archives(tmp_path, top):
    root = make_dataset(tmp_path / "ds")
    with tarfile.open(tmp_path / "d.tgz", "w:gz") as t:
        for split in ("train", "valid", "test"):
            t.add(root / split, arcname=top + split)
    with zipfile.ZipFile(tmp_path / "d.zip", "w") as z:
        for f in sorted(root.rglob("*.csv")):
            z.write(f, top + str(f.relative_to(root)))
    for archive in ("d.tgz", "d.zip"):
        ds = load(tmp_path / archive)
        assert {k: len(v) for k, v in ds.splits.items()} == {"train": 3, "valid": 1, "test": 1}
        assert ds.fingerprint() == load(root).fingerprint()


def _tar_with(tmp_path, name, data=b"x", kind=tarfile.REGTYPE):
    path = tmp_path / "evil.tgz"
    with tarfile.open(path, "w:gz") as t:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        if kind == tarfile.SYMTYPE:
            info.linkname = "/etc/passwd"
        t.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return path


@pytest.mark.parametrize("name", ["../evil.csv", "/abs/train/x.csv", "train/../../x.csv"])
def test_archive_members_that_escape_are_refused(tmp_path, name):
    with pytest.raises(ChoraleError, match="escapes the archive folder"):
        load(_tar_with(tmp_path, name, csv_text(GRID).encode()))


def test_archive_with_links_is_refused(tmp_path):
    with pytest.raises(ChoraleError, match="is a link or device"):
        load(_tar_with(tmp_path, "train/x.csv", kind=tarfile.SYMTYPE))


def test_bad_csv_inside_archive_names_archive_and_member(tmp_path):
    with pytest.raises(ChoraleError, match=r"evil.tgz:train/x.csv: line 2, column note0"):
        load(_tar_with(tmp_path, "train/x.csv", csv_text([["z", 60, 60, 60]]).encode()))


def test_corrupt_and_empty_inputs(tmp_path):
    (tmp_path / "bad.tgz").write_bytes(b"not a tarball")
    with pytest.raises(ChoraleError, match="bad.tgz: not a readable archive"):
        load(tmp_path / "bad.tgz")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ChoraleError, match="empty: no chorale CSV files found"):
        load(tmp_path / "empty")
    with pytest.raises(ChoraleError, match="nowhere: no such file or folder"):
        load(tmp_path / "nowhere")
    (tmp_path / "song.txt").write_text("hello")
    with pytest.raises(ChoraleError, match="expected a dataset folder"):
        load(tmp_path / "song.txt")


def test_vocabulary_round_trip_and_range():
    vocab = Vocabulary(36, 81)
    assert vocab.size == 47
    tokens = vocab.encode(GRID)
    assert tokens.tolist()[:4] == [74 - 35, 70 - 35, 65 - 35, 58 - 35] and tokens[-1] == 0
    np.testing.assert_array_equal(vocab.decode(tokens), GRID)
    with pytest.raises(ChoraleError, match=r"pitch 90 \(F#6\) is outside the model's range 36..81 \(C2..A5\)"):
        vocab.encode(np.array([[90, 60, 60, 60]]))
    assert Vocabulary.fit([GRID]) == Vocabulary(55, 75)
    assert Vocabulary.from_dict(vocab.to_dict()) == vocab


MANIFEST = "id,split,key,fermatas\nchorale_000,train,D minor,0 2\nchorale_001,train,Bb,\n"


def test_manifest_gives_fermatas_and_keys(tmp_path):
    root = make_dataset(tmp_path / "ds")
    plain = load(root)["train"][0]
    assert (plain.fermatas, plain.known_key) == ((), False)  # no manifest: unknown, still loads
    (root / "manifest.csv").write_text(MANIFEST)
    train = load(root)["train"]
    assert [(c.fermatas, c.known_key and c.key) for c in train] == [((0, 2), "D minor"), ((), "Bb major"),
                                                                    ((), False)]
    assert load(root)["test"][0].fermatas == ()  # chorale_000 is listed for train only


def test_manifest_in_an_archive_and_a_manifest_without_fermatas(tmp_path):
    root = make_dataset(tmp_path / "ds")
    (root / "manifest.csv").write_text("id,key\nchorale_002,e minor\n")
    assert [(c.fermatas, c.known_key and c.key) for c in load(root)["train"]] == [((), False), ((), False),
                                                                                  ((), "E minor")]
    (root / "manifest.csv").write_text(MANIFEST)
    archive = tmp_path / "ds.tgz"
    with tarfile.open(archive, "w:gz") as t:
        t.add(root, arcname="")
    assert load(archive)["train"][0].fermatas == (0, 2)


@pytest.mark.parametrize("cell, message", [
    ("0 4", "fermata at row 4 is past the chorale's end \\(4 rows\\)"),
    ("2 1", "fermata rows must increase, got 2 then 1"),
    ("1 1", "fermata rows must increase, got 1 then 1"),
    ("1.5", "fermata '1.5' is not a grid row"),
    ("-1", "fermata '-1' is not a grid row"),
])
def test_bad_fermatas_name_the_manifest_line_and_chorale(tmp_path, cell, message):
    root = make_dataset(tmp_path / "ds")
    (root / "manifest.csv").write_text(f"id,split,fermatas\nchorale_000,test,\nchorale_000,train,{cell}\n")
    with pytest.raises(ChoraleError, match=f"manifest.csv: line 3 \\(chorale_000\\): {message}") as e:
        load(root)
    assert "\n" not in str(e.value)


def test_bad_manifest_key_and_missing_id_column(tmp_path):
    root = make_dataset(tmp_path / "ds")
    (root / "manifest.csv").write_text("id,key\nchorale_001,H moll\n")
    with pytest.raises(ChoraleError, match="line 2 \\(chorale_001\\): unknown key 'H moll'"):
        load(root)
    (root / "manifest.csv").write_text("name,key\nchorale_001,D\n")
    with pytest.raises(ChoraleError, match="manifest.csv: no 'id' column to say which chorale"):
        load(root)
    (root / "manifest.csv").write_text("name,notes\nchorale_001,my favourite\n")  # not ours to read
    assert not load(root)["train"][1].known_key


def test_bundled_dataset_has_fermatas_and_keys():
    test = load()["test"]
    assert all(c.known_key for c in test)
    known = [c.fermatas for c in test if c.fermatas]
    assert len(known) >= len(test) - 2 and 5 < np.mean([len(f) for f in known]) < 8
