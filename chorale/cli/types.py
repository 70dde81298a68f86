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
TEMPERATURE = FiniteFloat(*limits.TEMPERATURE)  # the ranges chorale.checks holds the API to
PROBABILITY = FiniteFloat(0, 1, min_open=True)  # top-p
DROPOUT = FiniteFloat(0, 1, max_open=True)
TEMPO = FiniteFloat(*limits.TEMPO)
PLAN_WEIGHT = FiniteFloat(*limits.PLAN_WEIGHT)
LEARNING_RATE = FiniteFloat(0, 1, min_open=True)  # Nadam diverges long before 1


class Primer(click.ParamType):
    """--primer: none, SPLIT:N (any case) for a dataset chorale, or a chorale file; anything
    else that looks like SPLIT:N is a usage error here, not an 'unknown file type' later."""

    name = "primer"

    def convert(self, value, param, ctx):
        from chorale import ChoraleError, checks

        text = str(value).strip()
        try:
            spec = checks.primer(text)
        except ChoraleError as e:
            self.fail(str(e).removeprefix("primer "), param, ctx)
        if spec == "none" or (":" in text and text.partition(":")[0].lower() in checks.SPLITS):
            return spec
        if re.fullmatch(r"[A-Za-z]{1,20}:[-+]?\w{0,40}", text) and "." not in text:
            self.fail(f"'{text}': expected none, train:N, valid:N, test:N, or a .csv, MIDI or MusicXML file",
                      param, ctx)
        return text


class Voices(click.ParamType):
    """One voice name, or several comma-separated (soprano,bass): unknown names and all four
    at once are usage errors."""

    name = "voices"

    def convert(self, value, param, ctx):
        from chorale import ChoraleError, checks
        from chorale.api import VOICES

        try:
            names = list(dict.fromkeys(checks.voices(str(value))))
        except ChoraleError as e:
            self.fail(f"{e}; e.g. soprano or soprano,bass", param, ctx)
        if not names:
            self.fail("no voice named; e.g. soprano or soprano,bass", param, ctx)
        if len(names) == len(VOICES):
            self.fail("all four voices given: nothing to write", param, ctx)
        return ",".join(names)


class Bars(click.ParamType):
    """--fermatas: bar numbers such as 2,4,6 (commas or spaces, increasing); whether they
    fall inside the piece is the API's to say, once the length is known."""

    name = "bars"

    def convert(self, value, param, ctx):
        from chorale import ChoraleError, checks

        try:
            return ",".join(map(str, checks.bar_numbers("fermatas", str(value))))
        except ChoraleError as e:
            self.fail(str(e), param, ctx)


class Key(click.ParamType):
    """--key: a key name such as 'D minor', parsed here (a usage error when unknown)."""

    name = "key"

    def convert(self, value, param, ctx):
        from chorale import ChoraleError, checks

        try:
            checks.key(str(value))
        except ChoraleError as e:
            self.fail(str(e), param, ctx)
        return str(value).strip()


class Host(click.ParamType):
    """--host: an interface address or name to listen on; blank is refused (it would listen
    on every interface while saying nothing of it)."""

    name = "host"

    def convert(self, value, param, ctx):
        text = str(value).strip()
        if not text or len(text) > 253 or any(c.isspace() or not c.isprintable() for c in text):
            self.fail(f"{value!r} is not an address: give 127.0.0.1 (this computer only), ::1, or an "
                      "interface's address such as 0.0.0.0 (every interface)", param, ctx)
        return text


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
