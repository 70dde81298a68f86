"""Pieces as the studio's page holds them: a Chorale to JSON (`piece_json`) and back
(`piece_from`), checked as the Python API checks its arguments (chorale.checks)."""

from __future__ import annotations

from chorale import ChoraleError, checks, defaults
from chorale.limits import STUDIO_MAX_BARS


def piece_json(piece, like=None) -> dict:
    """A Chorale as the page holds it: the grid as rows of 4 MIDI pitches (0 = rest), and
    what the page shows beside it. `like`: the piece it was rewritten from, whose planned
    key and fermatas it keeps when it does not say its own."""
    from chorale.encoding import STEPS_PER_BAR
    from chorale.music import describe_faults, voice_leading_faults

    fermatas = tuple(getattr(piece, "fermatas", ()) or ())
    known = getattr(piece, "known_key", False)
    key = piece.key
    if like is not None and len(like.grid) == len(piece.grid):
        fermatas = fermatas or tuple(getattr(like, "fermatas", ()) or ())
        if not known and getattr(like, "known_key", False):
            key, known = like.key, True
    return {
        "title": piece.title,
        "tempo": piece.tempo,
        "key": key,
        "known_key": bool(known),
        "steps": piece.steps,
        "bars": piece.bars,
        "steps_per_bar": STEPS_PER_BAR,
        "grid": piece.grid.tolist(),
        "fermatas": [int(f) for f in fermatas],
        "voice_leading": describe_faults(piece.details.get("faults") or voice_leading_faults(piece.grid)),
        "details": _plain({k: v for k, v in piece.details.items() if k != "fermatas"}),
    }


def piece_from(data: dict):
    """The Chorale the page posted as {"piece": {"grid": ..., "title": ..., "tempo": ...,
    "key": ..., "known_key": ..., "fermatas": [...]}}: its key counts as its plan only when
    known (written by a plan), not when it was estimated from the notes."""
    from chorale.encoding import STEPS_PER_BAR
    from chorale.piece import Chorale

    piece = data.get("piece")
    if not isinstance(piece, dict) or "grid" not in piece:
        raise ChoraleError("no piece: generate or harmonize one first")
    title, tempo, key = piece.get("title", "Chorale"), piece.get("tempo", defaults.TEMPO), piece.get("key")
    if not isinstance(title, str) or (key is not None and not isinstance(key, str)):
        raise ChoraleError("a piece's title and key are text")
    grid = piece["grid"]
    if not isinstance(grid, list) or not all(isinstance(row, list) and all(checks.is_whole(p) for p in row)
                                             for row in grid):
        raise ChoraleError("a piece's grid is a list of rows of whole MIDI pitches")
    if len(grid) > STUDIO_MAX_BARS * STEPS_PER_BAR:
        raise ChoraleError(f"the piece is longer than the studio's {STUDIO_MAX_BARS} bars")
    fermatas = piece.get("fermatas") or []
    if not isinstance(fermatas, list) or not all(checks.is_whole(f) and 0 <= f < len(grid) for f in fermatas):
        raise ChoraleError("a piece's fermatas are step numbers inside the piece")
    known = key if piece.get("known_key") is True else None
    return Chorale(checks.grid(grid, "the piece's grid"), title=title[:200], tempo=checks.tempo(tempo), key=known,
                   fermatas=fermatas)


def _plain(value):
    """JSON-able copies of details (NumPy scalars and arrays become numbers and lists)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
