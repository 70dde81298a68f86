"""The bad-input catalogue: every command, every way its input can be wrong (tests/test_bad_inputs.py
runs it; benchmarks/robustness.py times it).

Each case runs the real CLI (Click's runner, in this process) in its own folder and must
exit non-zero with exactly one `Error: ...` line naming the problem (and the file, where
there is one), print no traceback, and leave every file under the test's root as it was:
no new file, no changed size or modification time. Usage errors (exit 2) keep Click's
usage hint above their one `Error:` line.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import mido
import numpy as np
from click.testing import CliRunner

import chorale
from chorale.cli import LAST_RESORT, cli
from chorale.io.csvfile import HEADER, write_csv
from chorale.data.loader import load
from chorale.encoding import Vocabulary, voice_ranges
from chorale.io.files import bundled
from chorale.io.midi import to_midi

VOCAB = Vocabulary(36, 81)
BACH = load(bundled("chorales") / "test")["test"][0].grid  # a real chorale, for good inputs
SHARED_DATA = {"train": 2, "valid": 1, "test": 1}  # real chorales from each split


# ---------------------------------------------------------------------------- shared inputs
def build_shared(root: Path) -> dict[str, str]:
    """Good inputs every case may point at ({name} in a case's args): a tiny dataset of real
    chorales, a tiny model folder with its sampler cache, a good chorale and a good series."""
    import keras

    from chorale.model.networks import build_chorale_model
    from chorale.sampling.cache import load_sampler

    shared = root / "shared"
    data = shared / "data"
    for split, count in SHARED_DATA.items():
        (data / split).mkdir(parents=True)
        for csv in sorted((bundled("chorales") / split).glob("*.csv"))[:count]:
            shutil.copy(csv, data / split)
    model = shared / "model"
    model.mkdir()
    keras.utils.set_random_seed(0)
    net = build_chorale_model("wavenet", VOCAB, filters=4, dilations=(1, 2), embed_dim=4)
    net.save(model / "model.keras")
    card = {"architecture": "wavenet", "parameters": net.count_params(), "vocabulary": VOCAB.to_dict(),
            "voice_ranges": voice_ranges(load(bundled("chorales")).grids("train")).tolist()}
    (model / "card.json").write_text(json.dumps(card))
    load_sampler(model)  # writes sampler.npz now, so no case sees it appear
    write_csv(shared / "chorale.csv", BACH)
    (shared / "series.csv").write_text("y\n" + "".join(f"{np.sin(i / 5):.4f}\n" for i in range(120)))
    unwritable = shared / "readonly"
    unwritable.mkdir()
    unwritable.chmod(0o555)
    # root writes anywhere; sysfs refuses new files even to root
    writable_anyway = os.name == "posix" and os.geteuid() == 0
    return {"data": str(data), "model": str(model), "chorale": str(shared / "chorale.csv"),
            "series": str(shared / "series.csv"), "unwritable": "/sys" if writable_anyway else str(unwritable)}


# ---------------------------------------------------------------------------- bad files
def csv_text(rows, header=HEADER) -> str:
    return header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows)


def midi_bytes(grid=BACH[:32]) -> bytes:
    buffer = io.BytesIO()
    to_midi(grid).save(file=buffer)
    return buffer.getvalue()


def midi_of(tracks, midi_type=1) -> bytes:
    """A MIDI file from tracks of (delta ticks, type, note) on channel 0."""
    midi = mido.MidiFile(type=midi_type, ticks_per_beat=480)
    for events in tracks:
        midi.tracks.append(mido.MidiTrack(mido.Message(kind, note=note, velocity=80 if kind == "note_on" else 0,
                                                       time=dt) for dt, kind, note in events))
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


CHORD = [(0, "note_on", 60), (0, "note_on", 64), (480, "note_off", 60), (0, "note_off", 64)]
FIVE_AT_ONCE = [(0, "note_on", p) for p in (60, 64, 67, 72, 76)] + [(480, "note_off", 60)]


def smpte_midi() -> bytes:
    data = bytearray(midi_bytes())
    data[12:14] = b"\xe7\x28"  # division: -25 frames/s, 40 ticks per frame
    return bytes(data)


def tar_with(name: str, data: bytes = b"", kind=tarfile.REGTYPE) -> Callable:
    def make(path: Path, shared: dict) -> None:
        with tarfile.open(path, "w:gz") as t:
            info = tarfile.TarInfo(name)
            info.type, info.size = kind, len(data)
            if kind == tarfile.SYMTYPE:
                info.linkname, info.size = "/etc/passwd", 0
            t.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return make


def zip_with(name: str, data: bytes) -> Callable:
    def make(path: Path, shared: dict) -> None:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(name, data)
    return make


MUSICXML_WITHOUT_NOTES = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1"><part-list><score-part id="P1"><part-name>Soprano</part-name></score-part>
</part-list><part id="P1"><measure number="1"><attributes><divisions>1</divisions></attributes>
<note><rest/><duration>4</duration></note></measure></part></score-partwise>"""


# ---------------------------------------------------------------------------- models
def model_folder(make_keras: Callable, card_changes: dict | None = None):
    """A model folder: the shared card (edited) beside a model.keras made by `make_keras`."""
    def make(folder: Path, shared: dict) -> None:
        folder.mkdir()
        card = json.loads((Path(shared["model"]) / "card.json").read_text())
        (folder / "card.json").write_text(json.dumps({**card, **(card_changes or {})}))
        make_keras(folder / "model.keras", shared)
    return make


def copy_of_shared_model(path: Path, shared: dict) -> None:
    shutil.copy(Path(shared["model"]) / "model.keras", path)


def lambda_payload_model(path: Path, shared: dict | None = None) -> None:
    """A .keras file whose Lambda layer, if its bytecode were ever run, creates PWNED."""
    import keras

    marker = path.parent.parent / "PWNED"
    payload = keras.layers.Lambda(eval(f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]"))
    keras.Sequential([keras.Input((None,), dtype="int32"), payload]).save(path)
    marker.unlink()  # building the model above ran the lambda; only loading it may not


def config_payload_model(**changes) -> Callable:
    """The shared model with its logits layer's config changed: an activation that is
    os.system, a layer that is subprocess.Popen or comes from a package we do not ship."""
    def make(path: Path, shared: dict) -> None:
        source = Path(shared["model"]) / "model.keras"
        with zipfile.ZipFile(source) as z:
            files = {n: z.read(n) for n in z.namelist()}
        config = json.loads(files["config.json"])
        logits = next(layer for layer in config["config"]["layers"] if layer["name"] == "logits")
        for key, value in changes.items():
            target = logits["config"] if key == "activation" else logits
            target[key] = value
        files["config.json"] = json.dumps(config).encode()
        with zipfile.ZipFile(path, "w") as z:
            for n, data in files.items():
                z.writestr(n, data)
    return make


def truncated_model(path: Path, shared: dict) -> None:
    data = (Path(shared["model"]) / "model.keras").read_bytes()
    path.write_bytes(data[: len(data) // 2])


def foreign_model(path: Path, shared: dict) -> None:
    import keras

    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save(path)


def resumable_run(checkpoint=copy_of_shared_model, run_json=None, history="epoch,loss,accuracy,val_loss,val_accuracy,seconds\n1,3.0,0.1,3.1,0.1,1.0\n"):
    """A run folder as an interrupted `chorale train` leaves it (on the shared data)."""
    def make(folder: Path, shared: dict) -> None:
        folder.mkdir()
        data = load(shared["data"])
        run = {"arch": "wavenet", "epochs": 2, "batch_size": 4, "learning_rate": 1e-3, "augment": False,
               "seed": 1, "options": {"filters": 4, "dilations": [1, 2], "embed_dim": 4}, "plan": False, "window": 33,
               "schedule": "constant", "data": shared["data"], "data_fingerprint": data.fingerprint(),
               "vocabulary": VOCAB.to_dict(), "voice_ranges": voice_ranges(data.grids("train")).tolist()}
        (folder / "run.json").write_text(run_json if run_json is not None else json.dumps(run))
        (folder / "history.csv").write_text(history)
        checkpoint(folder / "checkpoint.keras", shared)
    return make


def stale_sampler_cache(card_changes: dict):
    """A copy of the shared model folder, sampler cache included, with its card edited."""
    def make(folder: Path, shared: dict) -> None:
        shutil.copytree(shared["model"], folder)
        card = json.loads((folder / "card.json").read_text())
        (folder / "card.json").write_text(json.dumps({**card, **card_changes}))
    return make


# ---------------------------------------------------------------------------- hardening inputs
def fifo(path: Path, shared: dict) -> None:
    os.mkfifo(path)


def link_to(target: str) -> Callable:
    def make(path: Path, shared: dict) -> None:
        os.symlink(target, path)
    return make


def tgz_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def zip_of(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


GOOD_MEMBERS = {"train/a.csv": csv_text(BACH).encode(), "valid/b.csv": csv_text(BACH).encode()}


def tgz_with_bad_checksum() -> bytes:
    data = bytearray(tgz_of(GOOD_MEMBERS))
    data[-8] ^= 0xFF  # the gzip trailer's CRC-32: tarfile alone never reads that far
    return bytes(data)


def tgz_with_damaged_header() -> bytes:
    """A well-compressed tar whose second member's header is garbage: tarfile stops there silently."""
    import gzip

    tar = bytearray(gzip.decompress(tgz_of({**GOOD_MEMBERS, "test/c.csv": csv_text(BACH).encode()})))
    second = 512 + -(-len(GOOD_MEMBERS["train/a.csv"]) // 512) * 512
    tar[second:second + 100] = b"\x07" * 100
    return gzip.compress(bytes(tar))


def zip_patched(local: int, central: int, value: bytes) -> bytes:
    """A one-member zip with bytes at offset `local` of the local header and `central` of the
    central directory entry replaced (the flag bits, the compression method)."""
    data = bytearray(zip_of({"train/a.csv": csv_text(BACH).encode()}))
    for signature, offset in ((b"PK\x03\x04", local), (b"PK\x01\x02", central)):
        at = data.index(signature) + offset
        data[at:at + len(value)] = value
    return bytes(data)


def zip_with_corrupt_deflate() -> bytes:
    data = bytearray(zip_of({"train/a.csv": csv_text(BACH).encode()}))
    start = data.index(b"PK\x03\x04") + 30 + len("train/a.csv")
    data[start + 5:start + 25] = bytes(20)
    return bytes(data)


def mxl_bomb() -> bytes:
    xml = MUSICXML_WITHOUT_NOTES.replace("<note>", " " * 3_000_000 + "<note>")
    return zip_of({"META-INF/container.xml": b'<container><rootfiles><rootfile full-path="score.xml"/></rootfiles></container>',
                   "score.xml": xml.encode()})


MUSICXML_NOTE = """<?xml version="1.0" encoding="UTF-8"?>
<score-partwise version="3.1"><part-list><score-part id="P1"><part-name>Soprano</part-name></score-part>
</part-list><part id="P1"><measure number="1"><attributes><divisions>{divisions}</divisions></attributes>
{before}<note><pitch><step>C</step><octave>5</octave></pitch><duration>4</duration></note></measure></part></score-partwise>"""
QUINTUPLETS = [e for p in (60, 62, 64, 65, 67) for e in ((0, "note_on", p), (96, "note_off", p))]  # 5 in a quarter
LONG_NAME = "n" * 300


def card_case(name, changes, *expect):
    return case(f"card: {name}", "generate --model m --out x.mid", "card.json", *expect,
                files={"m": stale_sampler_cache(changes)})


# ---------------------------------------------------------------------------- the catalogue
Content = str | bytes | Callable


@dataclass(frozen=True)
class Case:
    """args: the command line ({data}, {model}, ... are the shared inputs); files: what to put
    in the case's folder first (text, bytes, or a function of the path and the shared inputs);
    expect: words the one `Error:` line must contain."""

    name: str
    args: tuple[str, ...]
    expect: tuple[str, ...]
    files: dict[str, Content] = field(default_factory=dict)
    exit_code: int = 1


def case(name, args, *expect, files=None, exit_code=1):
    return Case(name, tuple(args.split()), expect, files or {}, exit_code)


RENDER = "--png out.png --midi out.mid"
CASES = [
    # data info: CSVs, folders and archives
    case("csv: no such file", "data info nowhere.csv", "nowhere.csv", "no such file"),
    case("csv: empty", "data info c.csv", "c.csv", "empty file", files={"c.csv": ""}),
    case("csv: header only", "data info c.csv", "c.csv", "no rows", files={"c.csv": HEADER + "\n"}),
    case("csv: wrong header", "data info c.csv", "c.csv", "line 1", "expected header",
         files={"c.csv": csv_text([[60] * 4], "s,a,t,b")}),
    case("csv: ragged row", "data info c.csv", "c.csv", "line 3", "expected 4 values",
         files={"c.csv": csv_text([[60] * 4, [60] * 3])}),
    case("csv: not a number", "data info c.csv", "c.csv", "column note1", "'x' is not a whole number",
         files={"c.csv": csv_text([[60, "x", 60, 60]])}),
    case("csv: pitch out of range", "data info c.csv", "c.csv", "pitch 200",
         files={"c.csv": csv_text([[60, 200, 60, 60]])}),
    case("csv: negative pitch", "data info c.csv", "c.csv", "pitch -5", files={"c.csv": csv_text([[60, -5, 60, 60]])}),
    case("csv: binary bytes", "data info c.csv", "c.csv", "not a text file", files={"c.csv": b"\xff\xfe\x00\x81garbage"}),
    case("csv: not a csv file", "data info song.txt", "song.txt", "expected a dataset folder",
         files={"song.txt": "hello"}),
    case("folder: no CSVs", "data info empty", "empty", "no chorale CSV files", files={"empty/readme.txt": "hi"}),
    case("folder: bad CSV inside", "data info ds", "chorale_000.csv", "'x' is not a whole number",
         files={"ds/train/chorale_000.csv": csv_text([["x", 60, 60, 60]])}),
    case("folder: binary manifest", "data info ds", "manifest.csv", "not a text file",
         files={"ds/train/chorale_000.csv": csv_text(BACH), "ds/manifest.csv": b"\xff\xfe\x00\x81"}),
    case("folder: malformed manifest", "data info ds", "manifest.csv", "not a readable CSV",
         files={"ds/train/chorale_000.csv": csv_text(BACH), "ds/manifest.csv": 'bwv,title\n1,"unclosed\n'}),
    case("folder: fermatas past the end", "data info ds", "manifest.csv", "line 2 (chorale_000)",
         "fermata at row 9999 is past the chorale's end",
         files={"ds/train/chorale_000.csv": csv_text(BACH), "ds/manifest.csv": "id,fermatas\nchorale_000,4 9999\n"}),
    case("folder: unknown key in manifest", "data info ds", "manifest.csv", "unknown key 'H dur'",
         files={"ds/train/chorale_000.csv": csv_text(BACH), "ds/manifest.csv": "id,key\nchorale_000,H dur\n"}),
    case("archive: corrupt tgz", "data info d.tgz", "d.tgz", "not a readable archive", files={"d.tgz": b"not a tarball"}),
    case("archive: truncated zip", "data info d.zip", "d.zip", "not a readable archive", files={"d.zip": b"PK\x03\x04\x14"}),
    case("archive: member ../", "data info d.tgz", "d.tgz", "escapes the archive",
         files={"d.tgz": tar_with("../evil.csv", csv_text(BACH).encode())}),
    case("archive: absolute member", "data info d.tgz", "d.tgz", "escapes the archive",
         files={"d.tgz": tar_with("/etc/train/x.csv", csv_text(BACH).encode())}),
    case("archive: zip member ../", "data info d.zip", "d.zip", "escapes the archive",
         files={"d.zip": zip_with("train/../../evil.csv", csv_text(BACH).encode())}),
    case("archive: symlink member", "data info d.tgz", "d.tgz", "link or device",
         files={"d.tgz": tar_with("train/x.csv", kind=tarfile.SYMTYPE)}),
    case("archive: zip bomb", "data info d.zip", "d.zip", "too large", files={"d.zip": zip_with("train/x.csv", b"0" * 11_000_000)}),
    case("archive: no CSVs", "data info d.zip", "d.zip", "no chorale CSV", files={"d.zip": zip_with("readme.txt", b"hi")}),
    case("archive: bad CSV member", "data info d.zip", "d.zip:train/x.csv", "line 2",
         files={"d.zip": zip_with("train/x.csv", csv_text([[60, 60, 999, 60]]).encode())}),
    case("build: output is a file", "data build --out taken.txt --limit 1", "taken.txt", files={"taken.txt": "x"}),
    case("build: output not empty", "data build --out ds --limit 1", "ds", "not empty", files={"ds/keep.csv": "x"}),
    # render: MIDI and MusicXML in, outputs checked before anything is written
    case("midi: not MIDI", f"render in.mid {RENDER}", "in.mid", "not a Standard MIDI File", files={"in.mid": "not music"}),
    case("midi: truncated", f"render in.mid {RENDER}", "in.mid", "truncated", files={"in.mid": midi_bytes()[:150]}),
    case("midi: corrupt events", f"render in.mid {RENDER}", "in.mid", "corrupt MIDI",
         files={"in.mid": b"MThd\0\0\0\6\0\1\0\1\1\xe0MTrk\0\0\0\4\0\xf4\x01\x02"}),
    case("midi: huge", f"render in.mid {RENDER}", "in.mid", "too large", files={"in.mid": b"MThd" + bytes(6_000_000)}),
    case("midi: no notes", f"render in.mid {RENDER}", "in.mid", "no pitched notes", files={"in.mid": midi_of([[]])}),
    case("midi: five notes at once", f"render in.mid {RENDER}", "in.mid", "5 notes sound at once",
         files={"in.mid": midi_of([FIVE_AT_ONCE])}),
    case("midi: pitch below the piano", f"render in.mid {RENDER}", "in.mid", "pitch 12",
         files={"in.mid": midi_of([[(0, "note_on", 12), (480, "note_off", 12)]])}),
    case("midi: type 2", f"render in.mid {RENDER}", "in.mid", "type 2", files={"in.mid": midi_of([CHORD[:1]], 2)}),
    case("midi: SMPTE time", f"render in.mid {RENDER}", "in.mid", "SMPTE", files={"in.mid": smpte_midi()}),
    case("musicxml: HTML", f"render in.musicxml {RENDER}", "in.musicxml", "not readable MusicXML",
         files={"in.musicxml": "<html><body>hello</body></html>"}),
    case("musicxml: not XML", f"render in.xml {RENDER}", "in.xml", "not readable MusicXML", files={"in.xml": "hello"}),
    case("musicxml: only rests", f"render in.musicxml {RENDER}", "in.musicxml", "no pitched notes",
         files={"in.musicxml": MUSICXML_WITHOUT_NOTES}),
    case("musicxml: corrupt .mxl", f"render in.mxl {RENDER}", "in.mxl", "not readable MusicXML",
         files={"in.mxl": b"PK\x03\x04 broken"}),
    case("render: unknown input type", f"render in.txt {RENDER}", "in.txt", "unknown file type",
         files={"in.txt": "hello"}),
    case("render: wrong output type", "render {chorale} --png out.jpg", "out.jpg", "unknown png file type"),
    case("render: existing output", "render {chorale} --midi out.mid --png old.png", "old.png", "already exists",
         files={"old.png": b"keep"}),
    case("render: missing output folder", "render {chorale} --midi out.mid --png nowhere/out.png", "nowhere",
         "does not exist"),
    case("render: output folder is a file", "render {chorale} --midi out.mid --png f.txt/out.png", "f.txt",
         "is not a folder", files={"f.txt": "x"}),
    case("render: unwritable output folder", "render {chorale} --midi out.mid --png {unwritable}/out.png",
         "out.png", "cannot write"),
    case("render: unknown instrument", "render {chorale} --midi out.mid --instrument kazoo", "unknown instrument 'kazoo'"),
    case("render: nothing to write", "render {chorale}", "nothing to write", exit_code=2),
    case("render: tempo out of range", "render {chorale} --midi out.mid --tempo 0", "--tempo", exit_code=2),
    # generate: options, primers, outputs
    case("generate: temperature 0", "generate --model {model} --temperature 0 --out x.mid", "--temperature", exit_code=2),
    case("generate: top-p 1.5", "generate --model {model} --top-p 1.5 --out x.mid", "--top-p", exit_code=2),
    case("generate: top-k 0", "generate --model {model} --top-k 0 --out x.mid", "--top-k", exit_code=2),
    case("generate: no such primer chorale", "generate --model {model} --primer test:9999 --out x.mid", "no primer 'test:9999'"),
    case("generate: corrupt primer", "generate --model {model} --primer p.mid --out x.mid", "p.mid", "not a Standard MIDI File",
         files={"p.mid": "garbage"}),
    case("generate: primer outside the vocabulary", "generate --model {model} --primer p.csv --out x.mid", "pitch 96",
         "outside the model's range", files={"p.csv": csv_text([[96, 67, 64, 48]])}),
    case("generate: primer longer than the piece", "generate --model {model} --primer test:0 --length 4 --out x.mid",
         "more than the 4 requested"),
    case("generate: missing output folder", "generate --model {model} --out nowhere/x.mid", "nowhere", "does not exist"),
    case("generate: unwritable output folder", "generate --model {model} --out {unwritable}/x.mid", "x.mid", "cannot write"),
    case("generate: existing output", "generate --model {model} --out x.mid", "x.mid", "already exists",
         files={"x.mid": b"keep"}),
    case("generate: one of several outputs exists", "generate --model {model} --count 3 --out s.mid", "s-02.mid",
         "already exists", files={"s-02.mid": b"keep"}),
    case("generate: unknown output type", "generate --model {model} --out x.mp3", "expected a .mid or .csv", exit_code=2),
    case("generate: zero bars", "generate --model {model} --bars 0 --out x.mid", "--bars", exit_code=2),
    case("generate: no such model", "generate --model nowhere --out x.mid", "nowhere", "no such model folder"),
    case("generate: model folder without card", "generate --model m --out x.mid", "m", "no card.json", files={"m/model.keras": b"x"}),
    case("generate: card that is not JSON", "generate --model m --out x.mid", "card.json", "not a model card",
         files={"m/card.json": "{oops", "m/model.keras": b"x"}),
    case("generate: card edited after the sampler cache", "generate --model m --out x.mid", "m", "card",
         files={"m": stale_sampler_cache({"vocabulary": Vocabulary(40, 70).to_dict()})}),
    # models from strangers: safe mode, and the card must match the file
    case("model: garbage bytes", "evaluate --model m --data {data}", "model.keras", "not a loadable",
         files={"m": model_folder(lambda p, shared: p.write_bytes(b"PK\x03\x04 not a zip"))}),
    case("model: truncated", "evaluate --model m --data {data}", "model.keras", "not a loadable",
         files={"m": model_folder(truncated_model)}),
    case("model: foreign model", "evaluate --model m --data {data}", "m", "card",
         files={"m": model_folder(foreign_model)}),
    case("model: card with another vocabulary", "evaluate --model m --data {data}", "m", "card",
         files={"m": model_folder(copy_of_shared_model, {"vocabulary": Vocabulary(40, 70).to_dict()})}),
    case("model: card with another parameter count", "evaluate --model m --data {data}", "m", "parameters",
         files={"m": model_folder(copy_of_shared_model, {"parameters": 123})}),
    case("model: card with another architecture", "evaluate --model m --data {data}", "m", "lstm",
         files={"m": model_folder(copy_of_shared_model, {"architecture": "lstm"})}),
    case("model: Lambda bytecode payload", "evaluate --model m --data {data}", "model.keras", "lambda",
         files={"m": model_folder(lambda_payload_model)}),
    case("model: Lambda payload via generate", "generate --model m --out x.mid", "model.keras", "lambda",
         files={"m": model_folder(lambda_payload_model)}),
    case("model: os.system as a layer", "evaluate --model m --data {data}", "model.keras", "system",
         files={"m": model_folder(config_payload_model(
             activation={"module": "os", "class_name": "function", "config": "system", "registered_name": None}))}),
    case("model: subprocess.Popen as a layer", "harmonize {chorale} --model m --out x.mid", "model.keras", "Popen",
         files={"m": model_folder(config_payload_model(
             module="subprocess", class_name="Popen", registered_name=None, config={"args": ["touch", "PWNED"]}))}),
    case("model: needs code we do not ship", "evaluate --model m --data {data}", "model.keras", "FancyAttention",
         files={"m": model_folder(config_payload_model(
             module="fancy_layers", class_name="FancyAttention", registered_name="fancy>FancyAttention"))}),
    case("evaluate: no such split", "evaluate --model {model} --data {data} --split nosuch", "no 'nosuch' split"),
    # train: data, options, run folders
    case("train: no such data", "train --data nowhere --out run", "nowhere", "no such file"),
    case("train: unknown architecture", "train --data {data} --arch perceiver --out run", "unknown architecture"),
    case("train: unknown backbone option", "train --data {data} -o colour=3 --out run", "colour", "unknown option"),
    case("train: impossible backbone option", "train --data {data} -o filters=-4 --out run", "filters"),
    case("train: option without a value", "train --data {data} -o filters --out run", "filters", "KEY=VALUE"),
    case("train: chorales too short", "train --data short --out run", "short", "at least 33 steps",
         files={"short/train/a.csv": csv_text(BACH[:20]), "short/valid/a.csv": csv_text(BACH[:20])}),
    case("train: no validation split", "train --data ds --out run", "ds", "no 'valid' split",
         files={"ds/train/a.csv": csv_text(BACH)}),
    case("train: existing output folder", "train --data {data} --out run", "run", "already exists",
         files={"run/model.keras": b"precious"}),
    case("train: resume without --out", "train --resume", "--resume needs --out"),
    case("train: resume a folder that is not a run", "train --data {data} --out run --resume", "run",
         "not a training run", files={"run/notes.txt": "hi"}),
    case("train: resume with a corrupt run.json", "train --data {data} --out run --resume", "run.json",
         files={"run": resumable_run(run_json="{truncated")}),
    case("train: resume with a corrupt history", "train --data {data} --out run --resume", "history.csv",
         files={"run": resumable_run(history="\x00\x01garbage")}),
    case("train: resume with a corrupt checkpoint", "train --data {data} --out run --resume", "checkpoint.keras",
         "not a loadable", files={"run": resumable_run(checkpoint=lambda p, shared: p.write_bytes(b"half a zip"))}),
    case("train: resume on other data", "train --data other --out run --resume", "run", "different data",
         files={"run": resumable_run(), "other/train/a.csv": csv_text(BACH), "other/valid/a.csv": csv_text(BACH)}),
    case("train: zero epochs", "train --data {data} --epochs 0 --out run", "--epochs", exit_code=2),
    # harmonize
    case("harmonize: melody with a chord", "harmonize m.mid --model {model} --out x.mid", "m.mid", "chord",
         files={"m.mid": midi_of([CHORD])}),
    case("harmonize: melody of rests", "harmonize m.csv --model {model} --out x.mid", "m.csv", "no notes",
         files={"m.csv": csv_text([[0, 0, 0, 0]] * 4)}),
    case("harmonize: no such part", "harmonize {chorale} --part 7 --model {model} --out x.mid", "chorale.csv", "no part 7"),
    case("harmonize: no part of that name", "harmonize {chorale} --part violin --model {model} --out x.mid", "no part named 'violin'"),
    case("harmonize: melody wider than the voice", "harmonize m.csv --model {model} --out x.mid", "wider than the model's",
         files={"m.csv": csv_text([[30, 0, 0, 0], [100, 0, 0, 0]])}),
    case("harmonize: corrupt MIDI", "harmonize m.mid --model {model} --out x.mid", "m.mid", "truncated",
         files={"m.mid": midi_bytes()[:100]}),
    case("harmonize: existing output", "harmonize {chorale} --model {model} --out h.mid", "h.mid", "already exists",
         files={"h.mid": b"keep"}),
    case("harmonize: audio as --out", "harmonize {chorale} --model {model} --out h.wav", "expected a .mid", exit_code=2),
    # forecast
    case("forecast: no such file", "forecast csv nowhere.csv --column y", "nowhere.csv", "no such file"),
    case("forecast: empty file", "forecast csv s.csv --column y", "s.csv", "not a readable CSV", files={"s.csv": ""}),
    case("forecast: binary file", "forecast csv s.csv --column y", "s.csv", "not a readable CSV",
         files={"s.csv": b"\xff\xfe\x00\x81\x00"}),
    case("forecast: no such column", "forecast csv {series} --column sales", "series.csv", "no column 'sales'"),
    case("forecast: not a number", "forecast csv s.csv --column y", "s.csv", "line 3", "'abc' is not a number",
         files={"s.csv": "y\n1\nabc\n3\n"}),
    case("forecast: missing values", "forecast csv s.csv --column y", "s.csv", "missing value", files={"s.csv": "y\n1\n\n2\nNaN\n3\n"}),
    case("forecast: time going backwards", "forecast csv s.csv --column y --time-column t", "s.csv", "not increasing",
         files={"s.csv": "t,y\n1,1\n3,2\n2,4\n"}),
    case("forecast: series too short", "forecast csv s.csv --column y --model naive", "s.csv", "too short",
         files={"s.csv": "y\n" + "1\n" * 30}),
    case("forecast: existing output", "forecast csv {series} --column y --out f.csv", "f.csv", "exists",
         files={"f.csv": "keep"}),
    case("forecast: unwritable plot folder", "forecast csv {series} --column y --plot {unwritable}/p.png", "p.png",
         "cannot write"),
    case("forecast: unknown model", "forecast synthetic --models naive,oracle", "unknown model 'oracle'"),
    case("forecast: existing JSON", "forecast synthetic --models naive --json r.json", "r.json", "exists",
         files={"r.json": "{}"}),
    # option values Click would let through: NaN, infinity, seeds NumPy refuses, lengths memory cannot hold
    case("options: temperature nan", "generate --model {model} --temperature nan --out x.mid", "--temperature", exit_code=2),
    case("options: temperature inf", "generate --model {model} --temperature inf --out x.mid", "--temperature", exit_code=2),
    case("options: tiny temperature", "generate --model {model} --temperature 1e-300 --out x.mid", "--temperature", exit_code=2),
    case("options: top-p nan", "generate --model {model} --top-p nan --out x.mid", "--top-p", exit_code=2),
    case("options: negative seed", "generate --model {model} --seed -1 --out x.mid", "--seed", exit_code=2),
    case("options: seed 2**32", "generate --model {model} --seed 4294967296 --out x.mid", "--seed", exit_code=2),
    case("options: length 1e10", "generate --model {model} --length 10000000000 --out x.mid", "--length", exit_code=2),
    case("options: bars 1e9", "generate --model {model} --bars 1000000000 --out x.mid", "--bars", exit_code=2),
    case("options: count 1e6", "generate --model {model} --count 1000000 --out x.mid", "--count", exit_code=2),
    case("options: primer in capitals with a negative number", "generate --model {model} --primer TEST:-1 --out x.mid",
         "--primer", "test:N", exit_code=2),
    case("options: primer of an unknown split", "generate --model {model} --primer exam:3 --out x.mid",
         "--primer", "test:N", exit_code=2),
    case("options: render tempo nan", "render {chorale} --midi out.mid --tempo nan", "--tempo", exit_code=2),
    case("options: render tempo inf", "render {chorale} --midi out.mid --tempo inf", "--tempo", exit_code=2),
    case("options: negative instrument", "render {chorale} --midi out.mid --instrument -5", "instrument number -5"),
    case("options: harmonize temperature nan", "harmonize {chorale} --model {model} --temperature nan --out x.mid",
         "--temperature", exit_code=2),
    case("options: harmonize seed 2**32", "harmonize {chorale} --model {model} --seed 4294967296 --out x.mid",
         "--seed", exit_code=2),
    case("options: harmonize candidates 1e9", "harmonize {chorale} --model {model} --candidates 1000000000 --out x.mid",
         "--candidates", exit_code=2),
    case("options: learning rate 1e30", "train --data {data} --learning-rate 1e30 --out run", "--learning-rate", exit_code=2),
    case("options: learning rate nan", "train --data {data} --learning-rate nan --out run", "--learning-rate", exit_code=2),
    case("options: train seed -1", "train --data {data} --seed -1 --out run", "--seed", exit_code=2),
    case("options: forecast dropout nan", "forecast csv {series} --column y --dropout nan", "--dropout", exit_code=2),
    case("options: forecast seed 2**32", "forecast csv {series} --column y --seed 4294967296", "--seed", exit_code=2),
    case("options: forecast horizon 1e12", "forecast csv {series} --column y --horizon 1000000000000", "--horizon", exit_code=2),
    case("options: synthetic dropout inf", "forecast synthetic --dropout inf", "--dropout", exit_code=2),
    case("options: synthetic series 1e10", "forecast synthetic --n-series 10000000000", "--n-series", exit_code=2),
    # the card schema
    card_case("without voice_ranges", {"voice_ranges": None}, "voice_ranges"),
    card_case("voice_ranges of one voice", {"voice_ranges": [[60, 81]]}, "voice_ranges"),
    card_case("voice_ranges outside the vocabulary", {"voice_ranges": [[0, 0]] * 4}, "voice_ranges"),
    card_case("voice_ranges of strings", {"voice_ranges": [["C4", "A5"]] * 4}, "voice_ranges"),
    card_case("vocabulary upside down", {"vocabulary": {"low": 81, "high": 36}}, "vocabulary"),
    card_case("card that is a list", {"architecture": ["wavenet"]}, "architecture"),
    # archives: integrity and a total budget
    case("archive: tgz with a bad checksum", "data info d.tgz", "d.tgz", "not a readable archive",
         files={"d.tgz": tgz_with_bad_checksum()}),
    case("archive: tgz damaged after a member", "data info d.tgz", "d.tgz", "damaged",
         files={"d.tgz": tgz_with_damaged_header()}),
    case("archive: truncated tgz", "data info d.tgz", "d.tgz", "not a readable archive",
         files={"d.tgz": tgz_of(GOOD_MEMBERS)[:-30]}),
    case("archive: zip with corrupt deflate", "data info d.zip", "d.zip", "not a readable archive",
         files={"d.zip": zip_with_corrupt_deflate()}),
    case("archive: encrypted zip member", "data info d.zip", "d.zip", "encrypted",
         files={"d.zip": zip_patched(6, 8, b"\x01\x00")}),
    case("archive: Deflate64 member", "data info d.zip", "d.zip", "unsupported compression",
         files={"d.zip": zip_patched(8, 10, b"\x09\x00")}),
    case("archive: members adding up past the budget", "data info d.zip", "d.zip", "too large for a dataset",
         files={"d.zip": zip_of({f"train/{i}.csv": b"0" * 9_000_000 for i in range(6)})}),
    case("archive: absurdly long chorale", "data info d.zip", "d.zip:train/a.csv", "rows, more than the limit",
         files={"d.zip": zip_of({"train/a.csv": csv_text([[60] * 4] * 25_000).encode()})}),
    case("archive: not a file", "data info d.zip", "d.zip", "not a regular file", files={"d.zip": fifo}),
    # inputs that are not regular files, and sizes checked before reading
    case("input: FIFO as a CSV", "data info c.csv", "c.csv", "not a regular file", files={"c.csv": fifo}),
    case("input: FIFO to render", f"render in.mid {RENDER}", "in.mid", "not a regular file", files={"in.mid": fifo}),
    case("input: FIFO to harmonize", "harmonize m.csv --model {model} --out x.mid", "m.csv", "not a regular file",
         files={"m.csv": fifo}),
    case("input: FIFO to evaluate --music", "evaluate --music m.mid --data {data}", "m.mid", "not a regular file",
         files={"m.mid": fifo}),
    case("input: symlink to /dev/zero", f"render in.mid {RENDER}", "in.mid", "not a regular file",
         files={"in.mid": link_to("/dev/zero")}),
    case("input: /dev/null as a series", "forecast csv /dev/null --column y", "/dev/null", "not a regular file"),
    case("input: folder of FIFOs", "data info ds", "a.csv", "not a regular file", files={"ds/train/a.csv": fifo}),
    case("input: .mxl holding a huge score", f"render in.mxl {RENDER}", "in.mxl", "uncompressed",
         files={"in.mxl": mxl_bomb()}),
    case("input: long CSV as audio at tempo 10", "render long.csv --wav out.wav --tempo 10", "out.wav", "minutes",
         files={"long.csv": csv_text([[60, 55, 52, 48]] * 20_000)}),
    case("input: long CSV as notation", "render long.csv --musicxml out.musicxml", "out.musicxml", "bars",
         files={"long.csv": csv_text([[60, 55, 52, 48]] * 20_000)}),
    case("input: CSV past the step limit", "render long.csv --midi out.mid", "long.csv", "limit",
         files={"long.csv": csv_text([[60, 55, 52, 48]] * 20_001)}),
    # MusicXML that broke the converter, MIDI rhythms finer than the grid
    case("musicxml: divisions 0", f"render in.musicxml {RENDER}", "in.musicxml", "not readable MusicXML",
         files={"in.musicxml": MUSICXML_NOTE.format(divisions=0, before="")}),
    case("musicxml: negative time", f"render in.musicxml {RENDER}", "in.musicxml", "negative time",
         files={"in.musicxml": MUSICXML_NOTE.format(divisions=1, before="<note><pitch><step>D</step><octave>5</octave></pitch><duration>-2</duration></note>")}),
    case("harmonize: quintuplets", "harmonize m.mid --model {model} --out x.mid", "m.mid", "closer together than a 16th",
         files={"m.mid": midi_of([QUINTUPLETS])}),
    case("input: series past the row limit", "forecast csv s.csv --column y --model naive", "s.csv", "rows",
         files={"s.csv": "y\n" + "1\n" * 200_001}),
    case("csv: values near float's limit", "forecast csv s.csv --column y --model naive", "s.csv", "rescale",
         files={"s.csv": "y\n" + "1.7e308\n" * 120}),
    # operating-system errors
    case("os: name too long to read", f"data info {LONG_NAME}.csv", "file name too long"),
    case("os: name too long to render", f"render {LONG_NAME}.csv --midi out.mid", "file name too long", exit_code=2),
    case("os: series name too long", f"forecast csv {LONG_NAME}.csv --column y", "file name too long"),
    case("os: output name too long", f"generate --model {{model}} --out {LONG_NAME}.mid", "file name too long"),
    case("os: model name too long", f"generate --model {LONG_NAME} --out x.mid", "file name too long"),
    case("os: training data name too long", f"train --data {LONG_NAME} --out run", "file name too long"),
    # outputs
    case("outputs: one file for two outputs", "render {chorale} --png same.png --sheet same.png", "same.png",
         "both --png and --sheet"),
    case("outputs: a failing generate makes no outputs/ folder", "generate --model {model} --primer nowhere.csv",
         "nowhere.csv"),
    case("outputs: a failing harmonize makes no outputs/ folder", "harmonize m.csv --model {model}", "m.csv",
         "no notes", files={"m.csv": csv_text([[0, 0, 0, 0]] * 4)}),
    # issue 24: option text that broke the parsers, and work past the budget (refused before any sampling)
    case("options: --fermatas of a superscript digit", "generate --model {model} --fermatas ² --out x.mid",
         "--fermatas", "not a bar number", exit_code=2),
    case("options: --fermatas=--5", "generate --model {model} --fermatas=--5 --out x.mid", "--fermatas",
         "not a bar number", exit_code=2),
    case("options: --fermatas that do not increase", "harmonize {chorale} --model {model} --fermatas 4,2 --out x.mid",
         "--fermatas", "do not increase", exit_code=2),
    case("options: --fermatas of 30,000 characters", "generate --model {model} --fermatas " + "1" * 30_000 + " --out x.mid",
         "--fermatas", "characters", exit_code=2),
    case("options: --primer test:²", "generate --model {model} --primer test:² --out x.mid", "--primer", "test:N",
         exit_code=2),
    case("options: --primer test: with 40 digits", "generate --model {model} --primer test:" + "9" * 40 + " --out x.mid",
         "--primer", "test:N", exit_code=2),
    case("options: --primer TRAIN:-1", "generate --model {model} --primer TRAIN:-1 --out x.mid", "--primer", "train:N",
         exit_code=2),
    Case("options: --key of 2,000 spaces", ("generate", "--model", "{model}", "--key", "C" + " " * 2000 + "x", "--out",
                                             "x.mid"), ("--key", "unknown key", "2,002 characters"), {}, 2),
    case("options: --key H", "harmonize {chorale} --model {model} --key H --out x.mid", "--key", "unknown key 'H'",
         exit_code=2),
    case("options: --voice soprano,5", "harmonize {chorale} --model {model} --voice soprano,5 --out x.mid", "--voice",
         "unknown voice '5'", exit_code=2),
    case("options: --plan-weight nan", "generate --model {model} --plan-weight nan --out x.mid", "--plan-weight",
         exit_code=2),
    case("options: --temperature 1e-300", "generate --model {model} --temperature 1e-300 --out x.mid", "--temperature",
         exit_code=2),
    case("options: --temperature 1e300", "generate --model {model} --temperature 1e300 --out x.mid", "--temperature",
         exit_code=2),
    case("options: --tempo 0", "render {chorale} --midi x.mid --tempo 0", "--tempo", exit_code=2),
    Case("options: studio --host ''", ("studio", "--host", ""), ("--host", "not an address"), {}, 2),
    Case("options: studio --host with a space", ("studio", "--host", "a b"), ("--host", "not an address"), {}, 2),
    case("work: generate 1000 chorales of 20,000 steps", "generate --model {model} --count 1000 --length 20000 --out x.mid",
         "limits.MAX_WORK", "80,000 tokens x 1,000 chorales"),
    case("work: generate 1000 chorales of 64 bars", "generate --model {model} --count 1000 --bars 64 --out x.mid",
         "limits.MAX_WORK"),
    case("work: harmonize a 20,000-step melody with 1000 candidates",
         "harmonize m.csv --model {model} --candidates 1000 --out x.mid", "limits.MAX_WORK",
         files={"m.csv": csv_text([[72, 0, 0, 0], [74, 0, 0, 0]] * 10_000)}),
    case("work: regenerate all 1250 bars with 1000 candidates",
         "regenerate long.csv --model {model} --bars 1-1250 --candidates 1000 --out x.mid", "limits.MAX_WORK",
         files={"long.csv": csv_text([[72, 67, 60, 48], [74, 67, 59, 43]] * 10_000)}),
]


# ---------------------------------------------------------------------------- running a case
def snapshot(root: Path) -> dict[str, tuple]:
    """Every file's (size, mtime) and every folder's name under `root`: what a case may not change."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            found[os.path.relpath(os.path.join(folder, name), root) + "/"] = ()
        for name in files:
            s = os.lstat(os.path.join(folder, name))
            found[os.path.relpath(os.path.join(folder, name), root)] = (s.st_size, s.st_mtime_ns)
    return found


@dataclass
class Outcome:
    case: Case
    exit_code: int
    output: str
    exception: BaseException | None
    changed: list[str]

    def problems(self) -> list[str]:
        """Everything that makes this case not handled cleanly (empty when it is)."""
        lines = self.output.strip().splitlines()
        errors = [line for line in lines if line.startswith("Error: ")]
        found = []
        if self.exit_code != self.case.exit_code:
            found.append(f"exit code {self.exit_code}, expected {self.case.exit_code}")
        if not isinstance(self.exception, (SystemExit, type(None))) or "Traceback" in self.output:
            found.append(f"crashed: {self.exception!r}")
        if LAST_RESORT in self.output:
            found.append("reached the last-resort handler (an unexpected exception)")
        if len(errors) != 1 or (self.case.exit_code == 1 and len(lines) != 1):
            found.append(f"expected one Error: line, got {lines}")
        elif missing := [w for w in self.case.expect if w not in errors[0]]:
            found.append(f"{errors[0]!r} does not say {missing}")
        if self.changed:
            found.append(f"files left behind or changed: {self.changed}")
        return found


def _write(path: Path, content: Content, shared: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        content(path, shared)


def run_case(case: Case, root: Path, shared: dict) -> Outcome:
    """Run one case in a fresh folder under `root` (which holds the shared inputs too)."""
    folder = root / "cases" / "".join(c if c.isalnum() else "-" for c in case.name)
    folder.mkdir(parents=True)
    for name, content in case.files.items():
        _write(folder / name, content, shared)
    args = [a.format(**shared) for a in case.args]
    before = snapshot(root)
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        result = CliRunner().invoke(cli, args)
    finally:
        os.chdir(cwd)
    after = snapshot(root)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return Outcome(case, result.exit_code, result.output, result.exception, changed)


# ---------------------------------------------------------------------------- the API's checks
ROOT = Path(__file__).resolve().parents[1]
LONG = np.tile([[67, 62, 59, 43], [69, 64, 60, 45], [71, 62, 55, 43], [72, 64, 57, 45]], (5000, 1))  # 20,000 steps


def _melody(values):
    return lambda m: m.harmonize(values, candidates=1, seed=1)


API_CASES = [  # name, call (model -> anything), words the error must contain; each must be refused before work
    ("plan_weight NaN", lambda m: m.generate(seed=1, bars=1, plan_weight=math.nan), "plan_weight"),
    ("plan_weight inf", lambda m: m.generate(seed=1, bars=1, plan_weight=math.inf), "plan_weight"),
    ("plan_weight 1000", lambda m: m.generate(seed=1, bars=1, plan_weight=1000), "plan_weight"),
    ("plan_weight text", lambda m: m.generate(seed=1, bars=1, plan_weight="2"), "plan_weight"),
    ("temperature 1e-300", lambda m: m.generate(seed=1, bars=1, temperature=1e-300), "temperature"),
    ("temperature 1e300", lambda m: m.generate(seed=1, bars=1, temperature=1e300), "temperature"),
    ("temperature NaN", lambda m: m.generate(seed=1, bars=1, temperature=math.nan), "temperature"),
    ("temperature text", lambda m: m.generate(seed=1, bars=1, temperature="1"), "temperature"),
    ("temperature True", lambda m: m.generate(seed=1, bars=1, temperature=True), "temperature"),
    ("top_p 0", lambda m: m.generate(seed=1, bars=1, top_p=0), "top_p"),
    ("top_p NaN", lambda m: m.generate(seed=1, bars=1, top_p=math.nan), "top_p"),
    ("top_k 0.5", lambda m: m.generate(seed=1, bars=1, top_k=0.5), "top_k"),
    ("greedy 'no'", lambda m: m.generate(seed=1, bars=1, greedy="no"), "greedy"),
    ("seed 1.0", lambda m: m.generate(seed=1.0, bars=1), "seed"),
    ("count '3'", lambda m: m.generate(seed=1, bars=1, count="3"), "count"),
    ("bars 1e9", lambda m: m.generate(seed=1, bars=10**9), "bars"),
    ("key of 2,000 spaces", lambda m: m.generate(seed=1, bars=1, key="C" + " " * 2000 + "x"), "unknown key"),
    ("key a number", lambda m: m.generate(seed=1, bars=1, key=5), "key"),
    ("fermatas ²", lambda m: m.generate(seed=1, bars=1, fermatas="²"), "not a bar number"),
    ("fermatas --5", lambda m: m.generate(seed=1, bars=1, fermatas="--5"), "not a bar number"),
    ("fermatas [1.5]", lambda m: m.generate(seed=1, bars=2, fermatas=[1.5]), "fermatas"),
    ("primer test:²", lambda m: m.generate(seed=1, bars=1, primer="test:²"), "primer"),
    ("primer a number", lambda m: m.generate(seed=1, bars=1, primer=5), "primer"),
    ("primer ragged", lambda m: m.generate(seed=1, bars=1, primer=[[60] * 4, [60] * 3]), "equal length"),
    ("title a number", lambda m: m.generate(seed=1, bars=1, title=5), "title"),
    ("progress not callable", lambda m: m.generate(seed=1, bars=1, progress=5), "progress"),
    ("generate past the work budget", lambda m: m.generate(seed=1, count=1000, steps=20_000), "limits.MAX_WORK"),
    ("generate count 1000 x 64 bars", lambda m: m.generate(seed=1, count=1000, bars=64), "limits.MAX_WORK"),
    ("melody of strings", _melody(["C4", "D4"]), "whole MIDI"),
    ("melody 60.5", _melody([60.5, 62]), "whole MIDI"),
    ("melody 200", _melody([200, 60]), "outside"),
    ("melody NaN", _melody([math.nan, 60]), "whole MIDI"),
    ("melody empty", _melody([]), "melody"),
    ("melody a dict", _melody({"a": 1}), "melody"),
    ("voices ['alto', 5]", lambda m: m.harmonize(LONG[:32], voice=["alto", 5], seed=1), "voices"),
    ("voice 5", lambda m: m.harmonize(LONG[:32, 0], voice=5, seed=1), "voices"),
    ("candidates 1.5", lambda m: m.harmonize(LONG[:32, 0], candidates=1.5, seed=1), "candidates"),
    ("harmonize past the work budget", lambda m: m.harmonize(LONG[:, 0], candidates=1000, seed=1), "limits.MAX_WORK"),
    ("regenerate past the work budget", lambda m: m.regenerate(LONG, bars=(1, 1250), candidates=100, seed=1),
     "limits.MAX_WORK"),
    ("regenerate bars ²", lambda m: m.regenerate(LONG[:64], bars="²", seed=1), "bars"),
    ("regenerate bars (1, 'x')", lambda m: m.regenerate(LONG[:64], bars=(1, "x"), seed=1), "bars"),
    ("regenerate voices 5", lambda m: m.regenerate(LONG[:64], bars=1, voices=5, seed=1), "voices"),
    ("score (n, 3)", lambda m: m.score(np.full((8, 3), 60)), "(steps, 4)"),
    ("score (n, 5)", lambda m: m.score(np.full((8, 5), 60)), "(steps, 4)"),
    ("score 1-D", lambda m: m.score(np.full(8, 60)), "(steps, 4)"),
    ("score 60.5", lambda m: m.score(np.full((8, 4), 60.5)), "whole MIDI"),
    ("score ragged", lambda m: m.score([[60] * 4, [60] * 3]), "equal length"),
    ("Chorale tempo 0", lambda m: chorale.Chorale(LONG[:16], tempo=0), "tempo"),
    ("Chorale tempo NaN", lambda m: chorale.Chorale(LONG[:16], tempo=math.nan), "tempo"),
    ("Chorale fermatas '12'", lambda m: chorale.Chorale(LONG[:16], fermatas="12"), "fermatas"),
    ("Chorale fermatas outside", lambda m: chorale.Chorale(LONG[:16], fermatas=[99]), "fermatas"),
    ("Chorale title a list", lambda m: chorale.Chorale(LONG[:16], title=["x"]), "title"),
    ("Chorale key 5", lambda m: chorale.Chorale(LONG[:16], key=5), "key"),
    ("Chorale strings", lambda m: chorale.Chorale([["a"] * 4]), "whole MIDI"),
]


# ---------------------------------------------------------------------------- the studio's client errors
def _multipart(*parts: bytes, boundary: bytes = b"b") -> bytes:
    return b"".join(b"--" + boundary + b"\r\n" + p for p in parts) + b"--" + boundary + b"--\r\n"


def _file(name: str = "m.mid", data: bytes = b"MThd\0\0\0\6\0\0\0\1\1\xe0") -> bytes:
    return (f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
            'Content-Type: audio/midi\r\n\r\n').encode() + data + b"\r\n"


def _field(name: str, value: bytes) -> bytes:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"


def _chunks(count: int, size: int = 100_000):
    for _ in range(count):
        yield b"x" * size


FORM = {"Content-Type": "multipart/form-data; boundary=b"}
JSON = {"Content-Type": "application/json"}
GRID = [[67, 62, 59, 43]] * 32
PIECE = {"grid": GRID, "title": "t", "tempo": 72}


def _json(body) -> dict:
    return {"content": json.dumps(body).encode(), "headers": JSON}


HTTP_CASES = [  # name, path, request keywords (each is a POST), the status, words the one-line error holds
    ("multipart: two files", "/api/harmonize", {"content": _multipart(_file(), _file()), "headers": FORM}, 400,
     "too many files"),
    ("multipart: 41 fields", "/api/harmonize",
     {"content": _multipart(*[_field(f"f{i}", b"1") for i in range(41)]), "headers": FORM}, 400, "too many fields"),
    ("multipart: a 1.5 MB field", "/api/harmonize", {"content": _multipart(_field("key", b"x" * 1_500_000)),
                                                     "headers": FORM}, 400, "exceeded maximum size"),
    ("multipart: no boundary", "/api/harmonize",
     {"content": _multipart(_file()), "headers": {"Content-Type": "multipart/form-data"}}, 400, "boundary"),
    ("multipart: a 5,000-character file name", "/api/harmonize",
     {"content": _multipart(_file("a" * 5000 + ".mid")), "headers": FORM}, 400, "form"),
    ("multipart: chunked body over the limit", "/api/harmonize", {"content": _chunks(30), "headers": FORM}, 413,
     "too large"),
    ("json: chunked body over the limit", "/api/regenerate", {"content": _chunks(30), "headers": JSON}, 413,
     "too large"),
    ("json: nested 100,000 deep", "/api/regenerate",
     {"content": b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "headers": JSON}, 400, "JSON"),
    ("json: nested 40 deep", "/api/regenerate",
     {"content": b'{"a":' + b"[" * 40 + b"]" * 40 + b"}", "headers": JSON}, 400, "nested"),
    ("json: NaN temperature", "/api/generate", {"content": b'{"temperature": NaN, "bars": 1}', "headers": JSON}, 400,
     "temperature"),
    ("json: Infinity plan", "/api/generate", {"content": b'{"temperature": Infinity}', "headers": JSON}, 400,
     "temperature"),
    ("json: a list", "/api/regenerate", {"content": b"[1, 2]", "headers": JSON}, 400, "object"),
    ("json: bad UTF-8", "/api/regenerate", {"content": b'{"a": "\xff"}', "headers": JSON}, 400, "not JSON"),
    ("json: ragged grid", "/api/regenerate", _json({"piece": {"grid": [[60] * 4, [60] * 3]}, "bars": [1, 1]}), 400,
     "equal length"),
    ("json: grid of 5 voices", "/api/regenerate", _json({"piece": {"grid": [[60] * 5] * 16}, "bars": [1, 1]}), 400,
     "(steps, 4)"),
    ("json: voices 5", "/api/regenerate", _json({"piece": PIECE, "bars": [1, 1], "voices": 5}), 400, "voices"),
    ("json: voices ['alto', 5]", "/api/regenerate", _json({"piece": PIECE, "bars": [1, 1], "voices": ["alto", 5]}),
     400, "voices"),
    ("json: voices a dict", "/api/regenerate", _json({"piece": PIECE, "bars": [1, 1], "voices": {"a": 1}}), 400,
     "voices"),
    ("json: bars an object", "/api/regenerate", _json({"piece": PIECE, "bars": {"a": 1}}), 400, "bars"),
    ("json: bars '²'", "/api/regenerate", _json({"piece": PIECE, "bars": "²"}), 400, "bars"),
    ("json: candidates 1e9", "/api/regenerate", _json({"piece": PIECE, "bars": [1, 1], "candidates": 10**9}), 400,
     "candidates"),
    ("json: tempo 0", "/api/audio", _json({"piece": {**PIECE, "tempo": 0}}), 400, "tempo"),
    ("json: a piece of text", "/api/audio", _json({"piece": "x"}), 400, "no piece"),
    ("json: key 2,000 spaces", "/api/generate", _json({"key": "C" + " " * 2000 + "x", "bars": 1}), 400,
     "unknown key"),
    ("json: key a list", "/api/generate", _json({"key": ["C"], "bars": 1}), 400, "key"),
    ("json: fermatas ²", "/api/generate", _json({"fermatas": "²", "bars": 1}), 400, "not a bar number"),
    ("json: fermatas --5", "/api/generate", _json({"fermatas": "--5", "bars": 1}), 400, "not a bar number"),
    ("json: primer test:²", "/api/generate", _json({"primer": "test:²", "bars": 1}), 400, "primer"),
    ("json: temperature 1e-300", "/api/generate", _json({"temperature": 1e-300, "bars": 1}), 400, "temperature"),
    ("json: seed 1.5", "/api/generate", _json({"seed": 1.5, "bars": 1}), 400, "seed"),
    ("json: bars true", "/api/generate", _json({"bars": True}), 400, "bars"),
    ("audio: 64 bars at tempo 20", "/api/audio", _json({"piece": {"grid": [[60, 55, 52, 48]] * 1024, "tempo": 20}}),
     400, "minutes"),
    ("export: unknown format", "/api/export/pdf", _json({"piece": PIECE}), 400, "unknown download format"),
    ("origin: null (a sandboxed frame)", "/api/generate",
     {"data": {"bars": "1"}, "headers": {"Origin": "null"}}, 403, "own page"),
    ("origin: another site", "/api/generate",
     {"data": {"bars": "1"}, "headers": {"Origin": "https://example.com"}}, 403, "own page"),
    ("origin: another port", "/api/generate",
     {"data": {"bars": "1"}, "headers": {"Origin": "http://testserver:9999"}}, 403, "own page"),
    ("fetch: cross-site", "/api/generate", {"data": {"bars": "1"}, "headers": {"Sec-Fetch-Site": "cross-site"}}, 403,
     "own page"),
    ("content type: text/plain JSON", "/api/regenerate",
     {"content": json.dumps({"piece": PIECE, "bars": [1, 1]}).encode(), "headers": {"Content-Type": "text/plain"}},
     415, "application/json"),
    ("content type: text/plain to generate", "/api/generate",
     {"content": b'{"bars": 1}', "headers": {"Content-Type": "text/plain"}}, 415, "application/json"),
    ("content type: a form to regenerate", "/api/regenerate", {"data": {"bars": "1"}}, 415, "application/json"),
    ("work: a long melody x 32 candidates", "/api/harmonize",
     {"files": {"file": ("long.csv", "note0,note1,note2,note3\n" + "72,0,0,0\n" * 20_000)},
      "data": {"candidates": "32"}}, 400, "limits.STUDIO_MAX_WORK"),
]


def check_answer(response, status: int, words: str) -> str:
    """The studio's answer to a client error: `status`, one line of JSON, no path, no traceback."""
    assert response.status_code == status, response.text
    text = response.json()["error"]
    assert words.lower() in text.lower(), text
    assert "\n" not in text and "Traceback" not in text and "/tmp" not in text and str(ROOT) not in text
    return text
