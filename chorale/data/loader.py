"""Load and write chorale CSVs in the layout of the public JSB Chorales release.

A dataset is a folder with train/, valid/ and test/ subfolders of `chorale_NNN.csv` files
(header `note0,note1,note2,note3`, one row per 16th note, MIDI pitch or 0 for a rest),
optionally with a `manifest.csv` (one row per chorale: `id` = the file name without
`.csv`, and optional `key` and `fermatas` columns; see docs/dataset.md). `load` also reads
one split folder, one CSV, or a `.tgz`/`.tar.gz`/`.zip` archive of that layout, and
validates everything strictly: a bad file is reported with its name, line, column and
value. Every file is read through `files.read_input` and every dataset within a byte
budget (see chorale.limits), so no input can hang the loader or fill memory; a damaged
archive is an error, never a partial dataset.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import lzma
import posixpath
import tarfile
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chorale import ChoraleError
from chorale.encoding import REST, VOICES
from chorale.io.csvfile import parse_csv, read_csv, read_text
from chorale.io.files import bundled, kind, read_input
from chorale.keys import key_name, parse_key
from chorale.limits import MAX_ARCHIVE_BYTES, MAX_ARCHIVE_MEMBERS, MAX_DATASET_BYTES, MAX_TEXT_BYTES
from chorale.piece import Chorale

SPLITS = ("train", "valid", "test")
ARCHIVE_SUFFIXES = (".tgz", ".tar.gz", ".zip")
ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)


@dataclass
class Dataset:
    source: str
    splits: dict[str, list[Chorale]]
    manifest: str | None = field(default=None, repr=False)  # manifest.csv text, if any

    def __getitem__(self, split: str) -> list[Chorale]:
        if split not in self.splits:
            have = ", ".join(self.splits) or "none"
            raise ChoraleError(f"{self.source}: no '{split}' split (it has: {have})")
        return self.splits[split]

    def grids(self, split: str) -> list[np.ndarray]:
        return [c.grid for c in self[split]]

    def fingerprint(self) -> str:
        """A short hash of every split's notes: identifies the data a model was trained on."""
        h = hashlib.sha256()
        for split in sorted(self.splits):
            for c in self.splits[split]:
                h.update(split.encode())
                h.update(np.ascontiguousarray(c.grid, dtype=np.int16).tobytes())
        return h.hexdigest()[:16]


class _Budget:
    """The bytes one dataset may still read: every CSV counts, so that many files each
    within the limit add up to a refusal, not to gigabytes of memory."""

    def __init__(self, source, limit: int):
        self.source, self.limit, self.left = source, limit, limit

    def take(self, name, size: int) -> None:
        if size > MAX_TEXT_BYTES:
            raise ChoraleError(f"{self.source}: member '{name}' is {size:,} bytes, too large for a chorale "
                               f"(limit {MAX_TEXT_BYTES:,})")
        self.left -= size
        if self.left < 0:
            raise ChoraleError(f"{self.source}: more than {self.limit:,} bytes of chorale CSVs, too large for a dataset")


def load(path=None) -> Dataset:
    """Load a dataset folder, a split folder, one CSV, or an archive; None is the bundled dataset.

    Read once per process: loading the same unchanged path again returns the same Dataset
    (treat it as read-only), so sampling 64 pieces with dataset primers reads the CSVs once.
    """
    path = Path(path) if path is not None else bundled("chorales")
    if kind(path) is None:
        raise ChoraleError(f"{path}: no such file or folder")
    return _load(path.resolve(), _signature(path))


def _signature(path: Path) -> tuple:
    """What changes when a dataset is rebuilt or replaced: the (mtime, size) of the path and of
    its direct entries (split folders, manifest; a file replaced atomically is a new entry)."""
    entries = [path, *sorted(path.iterdir())] if path.is_dir() else [path]
    return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in entries)


@functools.lru_cache(maxsize=8)
def _load(path: Path, signature: tuple) -> Dataset:
    found = kind(path)
    if found is None:
        raise ChoraleError(f"{path}: no such file or folder")
    if found == "folder":
        return _load_folder(path)
    if path.name.lower().endswith(ARCHIVE_SUFFIXES):
        return _load_archive(path)
    if path.suffix.lower() == ".csv":
        return Dataset(str(path), {"all": [_entry(path.name, read_csv(path))]})
    raise ChoraleError(f"{path}: expected a dataset folder, a .csv file or a .tgz/.zip archive")


def _load_folder(path: Path) -> Dataset:
    budget = _Budget(path, MAX_DATASET_BYTES)
    splits = {s: sorted((path / s).glob("*.csv")) for s in SPLITS if kind(path / s) == "folder"}
    if splits:
        found = {s: [_entry(f"{s}/{f.name}", read_csv(f, budget)) for f in files] for s, files in splits.items()}
    else:  # a single split folder
        files = sorted(f for f in path.glob("*.csv") if f.name != "manifest.csv")
        key = path.name if path.name in SPLITS else "all"
        found = {key: [_entry(f.name, read_csv(f, budget)) for f in files]}
    if not any(found.values()):
        raise ChoraleError(f"{path}: no chorale CSV files found (expected train/, valid/, test/ folders of CSVs)")
    manifest = path / "manifest.csv"
    text = read_text(manifest) if kind(manifest) is not None else None
    return Dataset(str(path), _annotated(found, text, str(manifest)), text)


def _wanted(name: str) -> bool:
    """Is an archive member read at all: chorale CSVs and manifest.csv (not macOS's ._ files)."""
    last = posixpath.basename(name.replace("\\", "/"))
    return last.endswith(".csv") and not last.startswith("._")


def _archive_members(path: Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of each CSV member, checked before any is inflated (safe names,
    regular files, no encryption, a supported compression, within the byte budget
    together) and verified after (a damaged member or gzip stream is an error)."""
    data = read_input(path, MAX_ARCHIVE_BYTES, "dataset archive")
    budget = _Budget(path, MAX_ARCHIVE_BYTES)
    try:
        if path.name.lower().endswith(".zip"):
            return _zip_members(path, data, budget)
        return _tar_members(path, data, budget)
    except (tarfile.TarError, zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError,
            NotImplementedError, ValueError) as e:  # zipfile seeks to negative offsets on a corrupt directory
        raise ChoraleError(f"{path}: not a readable archive ({e})") from None


def _zip_members(path: Path, data: bytes, budget: _Budget) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        infos = [i for i in z.infolist() if not i.filename.endswith("/")]  # is_dir() fails on an empty name
        _check_count(path, len(infos))
        for info in infos:
            _check_member(path, info.filename)
        infos = [i for i in infos if _wanted(i.filename)]
        for info in infos:
            if info.flag_bits & 0x1:
                raise ChoraleError(f"{path}: member '{info.filename}' is encrypted; chorale reads plain archives")
            if info.compress_type not in ZIP_METHODS:
                raise ChoraleError(f"{path}: member '{info.filename}' uses an unsupported compression "
                                   f"(method {info.compress_type}); use deflate")
            budget.take(info.filename, info.file_size)
        return [(info.filename, z.read(info)) for info in infos]  # CRC-checked by zipfile


def _tar_members(path: Path, data: bytes, budget: _Budget) -> list[tuple[str, bytes]]:
    # Inflate the whole gzip stream first, within a bound: tarfile stops at the first bad
    # header without a word and never reaches the gzip checksum at the end.
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    tar = inflate.decompress(data, 2 * MAX_ARCHIVE_BYTES + 1)
    if len(tar) > 2 * MAX_ARCHIVE_BYTES:
        raise ChoraleError(f"{path}: more than {2 * MAX_ARCHIVE_BYTES:,} bytes uncompressed, too large for a dataset")
    if not inflate.eof or inflate.unused_data.strip(b"\0"):
        raise ChoraleError(f"{path}: not a readable archive (a truncated or damaged gzip stream)")
    members = []
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as t:
        for m in t:
            _check_count(path, len(t.members))
            if m.isdir():
                continue
            if not m.isfile():
                raise ChoraleError(f"{path}: member '{m.name}' is a link or device; refusing the archive")
            _check_member(path, m.name)
            if _wanted(m.name):
                budget.take(m.name, m.size)
                members.append((m.name, t.extractfile(m).read()))
                if len(members[-1][1]) != m.size:
                    raise ChoraleError(f"{path}: member '{m.name}' is truncated")
        if tar[t.offset:].strip(b"\0"):  # what follows the last member must be the zero end blocks
            raise ChoraleError(f"{path}: not a readable archive (damaged after member {len(t.members)})")
    return members


def _check_count(archive: Path, count: int) -> None:
    if count > MAX_ARCHIVE_MEMBERS:
        raise ChoraleError(f"{archive}: more than {MAX_ARCHIVE_MEMBERS:,} members, too many for a dataset")


def _check_member(archive: Path, name: str) -> None:
    norm = posixpath.normpath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or norm == ".." or norm.startswith("../") or ":" in name.split("/")[0]:
        raise ChoraleError(f"{archive}: member '{name}' escapes the archive folder; refusing the archive")


def _load_archive(path: Path) -> Dataset:
    found: dict[str, list[Chorale]] = {}
    manifest = None
    for name, data in sorted(_archive_members(path)):
        parts = posixpath.normpath(name).split("/")
        if parts[-1] == "manifest.csv":
            manifest = data.decode("utf-8", errors="replace")
            continue
        split = parts[-2] if len(parts) > 1 and parts[-2] in SPLITS else "all"
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ChoraleError(f"{path}:{name}: not a text file") from None
        found.setdefault(split, []).append(_entry(f"{split}/{parts[-1]}", parse_csv(text, f"{path}:{name}")))
    if not found:
        raise ChoraleError(f"{path}: the archive holds no chorale CSV files")
    return Dataset(str(path), _annotated(found, manifest, f"{path}:manifest.csv"), manifest)


def manifest_rows(text: str, name: str) -> tuple[set[str], list[tuple[int, dict[str, str]]]]:
    """(columns, [(line, row), ...]) of a manifest CSV, every line read: a damaged file is an
    error naming the line."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")), strict=True)
    try:
        columns = set(reader.fieldnames or ())
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as e:
        raise ChoraleError(f"{name}: line {max(reader.line_num, 1)}: not a readable CSV ({e})") from None
    return columns, rows


def read_manifest(text: str, name: str) -> dict[str, list[tuple[int, dict[str, str]]]]:
    """{chorale id: [(line, row), ...]} of a manifest CSV; `id` is the chorale's file name
    without `.csv` (listed once per split it is in). Other columns are optional; a
    manifest with neither `key` nor `fermatas` gives nothing (it may be anyone's notes)."""
    columns, rows = manifest_rows(text, name)
    if not columns & {"key", "fermatas"}:
        return {}
    if "id" not in columns:
        raise ChoraleError(f"{name}: no 'id' column to say which chorale a key or fermatas belong to "
                           f"(the file name without its suffix)")
    found: dict[str, list] = {}
    for line, row in rows:
        found.setdefault(row["id"], []).append((line, row))
    return found


def parse_fermatas(text: str, steps: int, where: str) -> tuple[int, ...] | None:
    """A manifest's fermata cell ("4 20 36": grid rows, increasing) -> (4, 20, 36); blank ->
    None, unknown (a score with no fermatas marked)."""
    cells = text.split()
    if not cells:
        return None
    for cell in cells:
        if not (cell.isascii() and cell.isdigit()):
            raise ChoraleError(f"{where}: fermata '{cell[:20]}' is not a grid row (a whole number from 0)")
    rows = tuple(map(int, cells))
    for a, b in zip(rows, rows[1:]):
        if b <= a:
            raise ChoraleError(f"{where}: fermata rows must increase, got {a} then {b}")
    if rows[-1] >= steps:
        raise ChoraleError(f"{where}: fermata at row {rows[-1]} is past the chorale's end ({steps} rows)")
    return rows


def format_fermatas(rows) -> str:
    """The manifest cell for fermata rows: space-separated, blank when none are known."""
    return " ".join(str(int(r)) for r in rows or ())


def _annotated(found: dict[str, list[Chorale]], manifest: str | None, name: str) -> dict[str, list[Chorale]]:
    """The chorales with their fermatas and key from the manifest, where it lists them."""
    if manifest is None:
        return found
    rows = read_manifest(manifest, name)
    return {split: [_with_row(c, split, rows, name) for c in chorales] for split, chorales in found.items()}


def with_manifest(chorales: list[Chorale], manifest: Path | None) -> list[Chorale]:
    """`chorales` (of any file type) with the fermatas and keys that the manifest file, if it
    exists, lists for their file names."""
    if manifest is None or not manifest.is_file():
        return chorales
    return _annotated({"all": chorales}, read_text(manifest), str(manifest))["all"]


def _entry(source: str, grid: np.ndarray) -> Chorale:
    """A dataset's chorale before its manifest row: titled by its file name, no key, no fermatas."""
    return Chorale(grid, title=Path(source).stem, source=source)


def _with_row(c: Chorale, split: str, rows: dict, name: str) -> Chorale:
    chorale_id = Path(c.source).stem
    # A file name may recur in several splits: a row with a split applies to that one only.
    listed = [(line, row) for line, row in rows.get(chorale_id, [])
              if split not in SPLITS or row.get("split", "") in ("", split)]
    if len(listed) > 1:
        raise ChoraleError(f"{name}: {split}/{chorale_id} is listed {len(listed)} times")
    if not listed:
        return c
    [(line, row)] = listed
    where = f"{name}: line {line} ({chorale_id})"
    try:
        key = key_name(*parse_key(row["key"])) if (row.get("key") or "").strip() else None
    except ChoraleError as e:
        raise ChoraleError(f"{where}: {e}") from None
    fermatas = parse_fermatas(row.get("fermatas") or "", len(c.grid), where) or ()
    return Chorale(c.grid, title=(row.get("title") or "").strip() or c.title, key=key, fermatas=fermatas,
                   source=c.source)


def info(dataset: Dataset) -> dict:
    """Summary numbers for `chorale data info`."""
    out = {"source": dataset.source, "splits": {}}
    for split, chorales in dataset.splits.items():
        lengths = [len(c.grid) for c in chorales]
        out["splits"][split] = {"chorales": len(chorales), "steps": int(sum(lengths)),
                                "min_steps": min(lengths), "max_steps": max(lengths)}
    stacked = np.concatenate([c.grid for cs in dataset.splits.values() for c in cs])
    out["pitch_range"] = {}
    for v, voice in enumerate(VOICES):
        sung = stacked[:, v][stacked[:, v] != REST]
        out["pitch_range"][voice] = [int(sung.min()), int(sung.max())] if sung.size else None
    known = [len(c.fermatas) for cs in dataset.splits.values() for c in cs if c.fermatas]
    if known:
        out["fermatas"] = {"known": len(known), "per_chorale": float(np.mean(known))}
    if dataset.manifest:
        rows = [row for _, row in manifest_rows(dataset.manifest, f"{dataset.source}: manifest.csv")[1]]
        for column, label in (("time_signature", "meters"), ("key", "keys")):
            counts = Counter(row[column] for row in rows if row.get(column))
            if counts:
                out[label] = counts.most_common()
    return out


def bach_keys(data=None) -> Counter:
    """How many chorales of a dataset (default: the bundled one) are in each key, from its
    manifest: Counter {(tonic, mode): count}; empty without a manifest. What a piece begun
    from nothing draws its key from."""
    return Counter(parse_key(c.key) for split in load(data).splits.values() for c in split if c.known_key)
