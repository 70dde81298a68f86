"""The argument checks every face shares: the Python API calls them, the studio calls them
on each request's fields, and the CLI's Click types (chorale.cli.types) read the same
ranges from chorale.limits. A bad value is refused here, at the boundary, with one line
naming the argument and what it takes; the code behind trusts what passed.

Errors are ChoraleError (the CLI prints them as they are, the studio answers 400), and
also ValueError or TypeError, so that Python code may catch them as it would any bad
argument. NumPy is imported only by the checks of arrays.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import numbers
import random

from chorale import ChoraleError, limits


class BadValue(ChoraleError, ValueError):
    """An argument of the right kind with a value out of range."""


class BadType(ChoraleError, TypeError):
    """An argument of the wrong kind (text for a number, a number for a voice name)."""


def shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_bool(value) -> bool:
    return isinstance(value, bool) or type(value).__name__ in ("bool", "bool_")  # NumPy's bool too


def is_whole(value) -> bool:
    return isinstance(value, numbers.Integral) and not is_bool(value)


def whole(name: str, value, low: int = 1, high: int = limits.MAX_STEPS) -> int:
    """`value` as an int in low..high: ints and NumPy integers only (not bools, floats or text)."""
    if not is_whole(value):
        raise BadType(f"{name} must be a whole number in {low}..{high}, got {shown(value)}")
    if not low <= value <= high:
        raise BadValue(f"{name} must be a whole number in {low}..{high}, got {shown(value)}")
    return int(value)


def number(name: str, value, low: float, high: float, *, low_open: bool = False) -> float:
    """`value` as a finite float in low..high ((low, high] with `low_open`): NaN, infinity,
    bools and text are refused, and so is a value past either end, however tiny or huge."""
    span = f"{'(' if low_open else ''}{low:g}..{high:g}{']' if low_open else ''}"
    if not isinstance(value, numbers.Real) or is_bool(value):
        raise BadType(f"{name} must be a number in {span}, got {shown(value)}")
    number = float(value)
    if not math.isfinite(number) or not (low < number if low_open else low <= number) or not number <= high:
        raise BadValue(f"{name} must be a number in {span}, got {shown(value)}")
    return number


def flag(name: str, value) -> bool:
    """True or False (a NumPy bool too): not 'no', not 0."""
    if not is_bool(value):
        raise BadType(f"{name} must be True or False, got {shown(value)}")
    return bool(value)


def text(name: str, value, max_chars: int | None = limits.MAX_TITLE_CHARS) -> str | None:
    """None, or a str of at most `max_chars` characters (None: any length)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadType(f"{name} must be text, got {shown(value)}")
    if max_chars is not None and len(value) > max_chars:
        raise BadValue(f"{name} must be at most {max_chars:,} characters, got {len(value):,}")
    return value


def callback(name: str, value):
    if value is not None and not callable(value):
        raise BadType(f"{name} must be a function or None, got {shown(value)}")
    return value


# ---------------------------------------------------------------------------- the options
def seed(value) -> int:
    """A seed in 0..MAX_SEED; None draws one."""
    if value is None:
        return random.randrange(limits.MAX_SEED + 1)
    return whole("seed", value, 0, limits.MAX_SEED)


def temperature(value) -> float:
    return number("temperature", value, *limits.TEMPERATURE)


def plan_weight(value) -> float:
    return number("plan_weight", value, *limits.PLAN_WEIGHT)


def top_p(value) -> float | None:
    return None if value is None else number("top_p", value, 0, 1, low_open=True)


def top_k(value) -> int | None:
    return None if value is None else whole("top_k", value, 1, limits.MAX_TOP_K)


def shaping(metre, harmony, tolerance, scale=0.0) -> dict:
    """The sampler's shaping strengths (chorale.sampling.sample.Controls): metre, harmony and
    scale in 0..100, tolerance None or three shares in 0..1 (parallels, hidden, crossings)."""
    if tolerance is not None:
        if isinstance(tolerance, (str, bytes)) or not hasattr(tolerance, "__len__") or len(tolerance) != 3:
            raise BadType(f"tolerance must be three shares in 0..1, got {shown(tolerance)}")
        tolerance = tuple(number("tolerance", t, 0, 1) for t in tolerance)
    return {"metre": number("metre", metre, 0, 100), "harmony": number("harmony", harmony, 0, 100),
            "tolerance": tolerance, "scale": number("scale", scale, 0, 100)}


def tempo(value) -> float:
    return number("tempo", value, *limits.TEMPO)


def count(name: str, value) -> int:
    """How many chorales (count) or candidates: 1..MAX_COUNT."""
    return whole(name, value, 1, limits.MAX_COUNT)


def voices(names) -> list[str]:
    """Voice names from a list or comma-separated text (None: all four), lower-cased, in
    the order given; unknown names and names that are not text are refused."""
    from chorale.encoding import VOICES

    if names is None:
        return list(VOICES)
    if isinstance(names, str):
        if len(names) > limits.MAX_LIST_CHARS:
            raise BadValue(f"voices must be at most {limits.MAX_LIST_CHARS:,} characters, got {len(names):,}")
        names = names.split(",")
    elif not isinstance(names, (list, tuple)):
        raise BadType(f"voices must be names such as 'alto' or 'soprano,bass', got {shown(names)}")
    if len(names) > limits.MAX_LIST_CHARS or not all(isinstance(n, str) for n in names):
        raise BadType(f"voices must be names such as 'alto' or 'soprano,bass', got {shown(names)}")
    names = [n.strip().lower() for n in names if n.strip()]
    unknown = [n for n in names if n not in VOICES]
    if unknown:
        raise BadValue(f"unknown voice '{unknown[0][:40]}' (choose from {', '.join(VOICES)})")
    return names


def bar_numbers(name: str, bars) -> list[int]:
    """Bar numbers from a list of whole numbers or from text such as "2,4,6" (commas or
    spaces); only ASCII digits count as digits (not '²'), and they must increase."""
    if isinstance(bars, str):
        if len(bars) > limits.MAX_LIST_CHARS:
            raise BadValue(f"{name}: at most {limits.MAX_LIST_CHARS:,} characters, got {len(bars):,}")
        cells = [c.strip() for c in bars.replace(" ", ",").split(",") if c.strip()]
        for c in cells:
            digits = c[1:] if c[:1] in "+-" else c
            if not (digits.isascii() and digits.isdigit() and len(digits) <= 9):
                raise BadValue(f"{name}: '{c[:20]}' is not a bar number (give bars such as 2,4,6,8)")
        bars = [int(c) for c in cells]
    elif not isinstance(bars, (list, tuple)) and type(bars).__name__ != "ndarray":
        raise BadType(f"{name} must be bar numbers such as [2, 4, 6] or '2,4,6', got {shown(bars)}")
    bars = list(bars)
    if len(bars) > limits.MAX_BARS:
        raise BadValue(f"{name}: {len(bars):,} bars, more than the {limits.MAX_BARS:,} a piece may have")
    for b in bars:
        if not is_whole(b):
            raise BadType(f"{name} must be whole bar numbers, got {shown(b)}")
    bars = [int(b) for b in bars]
    if any(b >= c for b, c in zip(bars, bars[1:])):
        raise BadValue(f"{name}: bars {', '.join(map(str, bars))} do not increase")
    return bars


def steps_list(name: str, steps, length: int) -> tuple[int, ...]:
    """Grid steps (such as a piece's fermatas): whole numbers in 0..length - 1, sorted; text
    is refused (\"12\" is not steps 1 and 2)."""
    if isinstance(steps, (str, bytes)) or not hasattr(steps, "__iter__"):
        raise BadType(f"{name} must be a list of steps (whole numbers), got {shown(steps)}")
    steps = list(steps)
    if len(steps) > length or not all(is_whole(s) for s in steps):
        raise BadType(f"{name} must be a list of steps (whole numbers) in 0..{length - 1}, got {shown(steps)}")
    if any(not 0 <= s < length for s in steps):
        raise BadValue(f"{name} {tuple(int(s) for s in steps)} must be steps of the piece (0..{length - 1})")
    return tuple(sorted({int(s) for s in steps}))


def key(value) -> str:
    """A key name ("D minor", "Bb", "F# major"), parsed to check it (chorale.keys.parse_key:
    bounded in length, no backtracking); returned as given, trimmed."""
    from chorale.keys import parse_key

    parse_key(text("key", value, max_chars=None))  # parse_key says a too-long key itself
    return value.strip()


SPLITS = ("train", "valid", "test")  # data.loader.SPLITS, without importing NumPy


def primer(value):
    """A primer given as text: 'none', SPLIT:N (any case) for a dataset chorale, or a file
    path (returned as it is). Text that looks like SPLIT:N must have N in ASCII digits."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lower() == "none":
        return "none"
    split, sep, index = text.partition(":")
    if sep and split.lower() in SPLITS:
        if not (index.isascii() and index.isdigit() and len(index) <= 9):
            raise BadValue(f"primer '{text[:40]}': expected {split.lower()}:N with N a chorale number 0, 1, 2, ...")
        return f"{split.lower()}:{int(index)}"
    return value


# ---------------------------------------------------------------------------- music
def grid(value, name: str = "grid"):
    """A (steps, 4) int32 array of rests and MIDI pitches from an array or nested lists;
    ragged rows, text and fractions are refused (chorale.encoding.check_grid)."""
    from chorale.encoding import check_grid

    return check_grid(_array(name, value))


def pitches(name: str, value):
    """A melody: a (steps,) array of rests and whole MIDI pitches, or a (steps, 4) grid."""
    import numpy as np

    from chorale.encoding import MIDI_HIGH, MIDI_LOW, is_pitch

    array = _array(name, value)
    if array.ndim == 2:
        return grid(array, name)
    if array.ndim != 1 or not len(array):
        raise BadValue(f"{name} must be a (steps,) line of pitches or a (steps, 4) grid; got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        if (not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating)
                or not np.all(np.isfinite(array)) or np.any(array % 1)):
            raise BadValue(f"{name}'s pitches must be whole MIDI note numbers (0 for a rest)")
    bad = ~is_pitch(array)
    if bad.any():
        raise BadValue(f"{name} pitch {array[bad][0]:g} at step {np.flatnonzero(bad)[0]} is outside "
                       f"{MIDI_LOW}..{MIDI_HIGH} (0 for a rest)")
    return array.astype(np.int32)


def _array(name: str, value):
    import numpy as np

    if isinstance(value, (str, bytes, dict)) or value is None:
        raise BadType(f"{name} must be an array of pitches, got {shown(value)}")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError, RecursionError):  # ragged rows, nesting past NumPy's 64 dimensions
        raise BadValue(f"{name} must be rows of equal length (a (steps, 4) array of pitches)") from None
    if array.dtype == object or array.dtype.kind in "USVb":
        raise BadValue(f"{name}'s pitches must be whole MIDI note numbers (0 for a rest)")
    if array.size > 4 * limits.MAX_STEPS:
        raise BadValue(f"{name} has {array.size:,} values, more than {limits.MAX_STEPS:,} steps of 4 voices")
    return array


# ---------------------------------------------------------------------------- work
_BUDGET = contextvars.ContextVar("work_budget", default=(limits.MAX_WORK, "MAX_WORK", None))


@contextlib.contextmanager
def work_budget(budget: int, limit: str, admit=None):
    """Inside: `work` refuses past `budget` (named limits.`limit` in its message) and calls
    admit(work) with each request it lets through, before any sampling (the studio queues
    its requests there)."""
    token = _BUDGET.set((budget, limit, admit))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def work(what: str, tokens: int, sequences: int, unit: str = "sequences") -> None:
    """Refuse, before any sampling, a request whose tokens x sequences exceed the work
    budget (limits.MAX_WORK, or the one `work_budget` set), naming the limit and what
    would fit."""
    budget, limit, admit = _BUDGET.get()
    total = tokens * sequences
    if total > budget:
        fits = budget // max(tokens, 1)
        raise BadValue(f"{what}: {tokens:,} tokens x {sequences:,} {unit} is {total:,} tokens of work, more than "
                       f"the limit of {budget:,} per request (limits.{limit}); "
                       + (f"at this length at most {fits:,} {unit}" if fits else "write a shorter piece"))
    if admit is not None:
        admit(total)
