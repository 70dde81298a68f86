"""The pluggable pieces, each chosen by key from one table (Coconet's registries): the
backbones a model is built on and the output formats. Pure Python, so `chorale --help`
can list them; each entry names its implementation as "module:function", imported only
when used.

Adding a backbone: a `Backbone` entry (its options with their defaults, its training
recipe, its builder) and the builder; `chorale train --arch`, its help, the card and the
exactness tests read the entry. Adding an output format: a writer `(path, grid, style) ->
note or None` and a row in FORMATS; the CLI's options (--NAME), `Chorale.save`,
`chorale.api.write` and the studio's downloads all read this table.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field


def resolve(target: str):
    """The object a "module:name" string names."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Backbone:
    name: str  # --arch NAME, the card's "architecture"
    help: str  # what it is, in a few words
    build: str  # "module:function": options dict -> list of causal Keras layers ((batch, time, x) -> (batch, time, y))
    options: dict = field(default_factory=dict)  # every option the builder takes, with its default
    recipe: dict = field(default_factory=dict)  # how `chorale train` trains it unless told otherwise


WINDOW = 33  # the reference protocol: chords per training window (32 of context + 1)
RECIPE = dict(epochs=20, batch_size=32, learning_rate=1e-3, schedule="cosine", augment=True, plan=False,
              look_ahead=False, window=WINDOW)  # a backbone's recipe unless its entry says otherwise
# `whole`: whole chorales (cut at `window` chords) in length buckets instead of fixed windows;
# `warmup`: steps of linear warm-up before the cosine; `clipnorm`: gradient clipping

BACKBONES = {b.name: b for b in (
    # the default: the benchmark's winner (docs/models.md); told the plan and the known notes
    Backbone("wavenet", "dilated causal convolutions, residual (WaveNet)", "chorale.model.networks:wavenet",
             dict(filters=64, dilations=(1, 2, 4, 8, 16, 32) * 2, kernel_size=2, residual=True, gated=False,
                  dropout=0.0),
             {**RECIPE, "epochs": 16, "batch_size": 16, "learning_rate": 5e-3, "plan": True, "look_ahead": True}),
    Backbone("conv-gru", "a causal convolution, then GRUs", "chorale.model.networks:conv_gru",
             dict(filters=64, kernel_size=4, strides=1, units=128, layers=1, dropout=0.0), RECIPE),
    Backbone("gru", "stacked GRUs", "chorale.model.networks:gru", dict(units=128, layers=2, dropout=0.0), RECIPE),
    Backbone("lstm", "stacked LSTMs", "chorale.model.networks:lstm", dict(units=128, layers=2, dropout=0.0), RECIPE),
    Backbone("reference", "the book's model (Hands-On ML, ch. 15, exercise 10)", "chorale.model.networks:reference",
             {}, {**RECIPE, "schedule": "constant", "augment": False}),
    # relative attention over the whole piece (chorale.model.attention): distances clipped at 256
    # tokens (4 bars); the sampler refuses pieces over max_context tokens (64 bars). Sized for a
    # 2-core CPU: the (time, time) work per head dominates (docs/models.md)
    Backbone("transformer", "relative self-attention over the whole piece (Music Transformer)",
             "chorale.model.attention:transformer_stack",
             dict(width=64, layers=4, heads=2, ffn=192, max_distance=256, dropout=0.1, max_context=4096,
                  distance_bias=True),
             {**RECIPE, "epochs": 12, "batch_size": 4, "learning_rate": 2e-3, "plan": True, "look_ahead": True,
              "window": 257, "whole": True, "warmup": 100, "clipnorm": 1.0}),  # window: 16 bars + 1 chord
)}
DEFAULT_BACKBONE = "wavenet"


def recipe_help(key: str) -> str:
    """How a recipe setting differs by backbone, for --help: "16 for wavenet, 20 otherwise"."""
    def said(value) -> str:
        return "on" if value is True else "off" if value is False else f"{value:g}" if isinstance(value, float) \
            else str(value)
    values = {name: b.recipe[key] for name, b in BACKBONES.items()}
    usual = max(values.values(), key=list(values.values()).count)
    return ", ".join([f"{said(v)} for {name}" for name, v in values.items() if v != usual] + [f"{said(usual)} otherwise"])


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
