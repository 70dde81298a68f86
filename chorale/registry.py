"""The pluggable pieces, each chosen by key from one table (Coconet's registries): output
formats here, backbones in `BACKBONES`. Pure Python, so `chorale --help` can list them;
each entry names its implementation as "module:function", imported only when used.

Adding an output format: a writer `(path, grid, style) -> note or None` and a row in
FORMATS; the CLI's options (--NAME), `Chorale.save`, `chorale.api.write` and the studio's
downloads all read this table.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


def resolve(target: str):
    """The object a "module:name" string names."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Format:
    name: str  # the keyword (`write(outputs={"wav": ...})`) and the CLI option (--wav)
    suffixes: tuple[str, ...]  # the first is the one a download is named with
    label: str  # how a written file is announced: "WAV: song.wav"
    help: str
    writer: str  # "module:function", (path, grid, style) -> a note for the user, or None
    media_type: str  # what a web page is told it downloads


FORMATS = (
    Format("midi", (".mid", ".midi"), "MIDI", "Write a Standard MIDI File (.mid).",
           "chorale.io.render:write_midi", "audio/midi"),
    Format("csv", (".csv",), "CSV", "Write the 16th-note grid as a JSB-style CSV.",
           "chorale.io.render:write_csv", "text/csv"),
    Format("wav", (".wav",), "WAV", "Write audio (FluidSynth if installed, else a built-in synthesizer).",
           "chorale.io.render:write_wav", "audio/wav"),
    Format("png", (".png",), "Piano roll", "Write a piano-roll picture (.png).",
           "chorale.io.render:write_piano_roll", "image/png"),
    Format("musicxml", (".musicxml", ".xml", ".mxl"), "MusicXML",
           "Write MusicXML (.musicxml, .xml or compressed .mxl).", "chorale.io.render:write_musicxml",
           "application/vnd.recordare.musicxml+xml"),
    Format("sheet", (".pdf", ".png"), "Sheet music", "Engrave sheet music with MuseScore (.pdf or .png).",
           "chorale.io.render:write_sheet", "application/pdf"),
)
OUT_FORMATS = ("midi", "csv")  # what a writing command's --out holds; the others have options of their own
