"""The Click parameter types every command shares: each option value is checked once, here,
at the boundary, so the code behind the CLI can trust it.

Click's FloatRange lets NaN through (every comparison with NaN is false) and infinity
through an open end, and IntRange without a maximum lets a seed or a length through that
NumPy cannot take or memory cannot hold; these types refuse them as usage errors (exit 2).
No NumPy here: `chorale --help` builds every option.
"""

from __future__ import annotations

import math
import re

import click

from chorale import limits


class FiniteFloat(click.FloatRange):
    """A FloatRange that also refuses NaN and infinity."""

    name = "number"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


SEED = click.IntRange(0, limits.MAX_SEED)
COUNT = click.IntRange(1, limits.MAX_COUNT)
STEPS = click.IntRange(1, limits.MAX_STEPS)
BARS = click.IntRange(1, limits.MAX_BARS)
POSITIVE = click.IntRange(1, 1_000_000)  # epochs, batch size, windows, horizons: finite work
TEMPERATURE = FiniteFloat(0.01, 100)  # below 0.01 logits / T overflow; above 100 it is noise
PROBABILITY = FiniteFloat(0, 1, min_open=True)  # top-p
DROPOUT = FiniteFloat(0, 1, max_open=True)
TEMPO = FiniteFloat(10, 400)  # quarter notes per minute
PLAN_WEIGHT = FiniteFloat(0, 10)  # guidance toward the plan; past 10 it overrides the model's voice leading
LEARNING_RATE = FiniteFloat(0, 1, min_open=True)  # Nadam diverges long before 1


class Primer(click.ParamType):
    """--primer: none, SPLIT:N (any case) for a dataset chorale, or a chorale file; anything
    else that looks like SPLIT:N is a usage error here, not an 'unknown file type' later."""

    name = "primer"
    SPLITS = ("train", "valid", "test")  # data.loader.SPLITS, without importing NumPy

    def convert(self, value, param, ctx):
        text = str(value).strip()
        if text.lower() == "none":
            return "none"
        match = re.fullmatch(r"([A-Za-z]+):([-+]?\w*)", text)
        if match and match[1].lower() in self.SPLITS:
            if not match[2].isdigit():
                self.fail(f"'{text}': expected {match[1].lower()}:N with N a chorale number 0, 1, 2, ...", param, ctx)
            return f"{match[1].lower()}:{int(match[2])}"
        if match and "." not in text:
            self.fail(f"'{text}': expected none, train:N, valid:N, test:N, or a .csv, MIDI or MusicXML file",
                      param, ctx)
        return text


class Voices(click.ParamType):
    """One voice name, or several comma-separated (soprano,bass): unknown names and all four
    at once are usage errors."""

    name = "voices"

    def convert(self, value, param, ctx):
        from chorale import ChoraleError
        from chorale.api import VOICES, _voices

        try:
            names = list(dict.fromkeys(_voices(str(value))))
        except ChoraleError as e:
            self.fail(f"{e}; e.g. soprano or soprano,bass", param, ctx)
        if not names:
            self.fail("no voice named; e.g. soprano or soprano,bass", param, ctx)
        if len(names) == len(VOICES):
            self.fail("all four voices given: nothing to write", param, ctx)
        return ",".join(names)


class Existing(click.ParamType):
    """A path that must exist: a file, or also a folder with `folder_ok`. Unlike
    click.Path, a name too long or a folder that cannot be read is said as such, not
    'does not exist'; a FIFO or device passes here and is refused by the reader."""

    name = "path"

    def __init__(self, folder_ok: bool = False):
        self.folder_ok = folder_ok

    def convert(self, value, param, ctx):
        from chorale import ChoraleError
        from chorale.api import path_kind

        try:
            found = path_kind(value)
        except ChoraleError as e:
            self.fail(str(e), param, ctx)
        if found is None:
            self.fail(f"{value}: no such file{' or folder' if self.folder_ok else ''}", param, ctx)
        if found == "folder" and not self.folder_ok:
            self.fail(f"{value}: is a folder, expected a file", param, ctx)
        return str(value)


def default_output(ctx, param, value):
    """An output option whose default lives in ./outputs/: the folder is made when the first
    file is written into it, so a command that fails before that leaves no outputs/ behind."""
    if ctx.get_parameter_source(param.name) is click.core.ParameterSource.DEFAULT:
        from pathlib import Path

        from chorale.api import create_on_write

        create_on_write(Path(value).parent)
    return value
