"""What a chorale model reads, made from a dataset's chorales: token windows (the reference
protocol) or whole padded chorales, their plan rows, and the dict of inputs a model with a
plan or look-ahead takes. Shared by training and evaluation."""

from __future__ import annotations

import numpy as np

from chorale import ChoraleError
from chorale.encoding import N_VOICES, Vocabulary
from chorale.model import plan as plans
from chorale.registry import WINDOW

SHIFT = 16  # the reference protocol: chords between windows (of registry.WINDOW chords)


def windows(tokens: list[np.ndarray], window: int = WINDOW, shift: int = SHIFT) -> np.ndarray:
    """(n, window * 4, ...) windows of per-token arrays (tokens, or plan rows) starting every
    `shift` chords; a short remainder is dropped."""
    size, step = window * N_VOICES, shift * N_VOICES
    out = [t[i:i + size] for t in tokens for i in range(0, len(t) - size + 1, step)]
    return np.stack(out) if out else np.zeros((0, size, *tokens[0].shape[1:]) if tokens else (0, size), np.int32)


def padded(sequences: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(array (n, longest, ...) padded with zeros on the right, lengths (n,)) of per-token arrays."""
    lengths = np.array([len(s) for s in sequences])
    out = np.zeros((len(sequences), lengths.max(), *sequences[0].shape[1:]), sequences[0].dtype)
    for i, s in enumerate(sequences):
        out[i, :len(s)] = s
    return out, lengths


def chorale_plans(chorales) -> list[np.ndarray]:
    """Each chorale's plan rows (per token), computed on the whole chorale (its end, its key)
    before it is cut into windows."""
    return [plans.plan_rows(plans.chorale_plan(c), len(c.grid)) for c in chorales]


def model_inputs(model, tokens: np.ndarray, rows: np.ndarray | None = None, known: np.ndarray | None = None):
    """What `model` takes for input tokens (batch, time): the tokens alone, or a dict by input
    name with the plan rows (batch, time, columns; all unknown when `rows` is None) and the
    known ids (batch, time; chorale.model.masks.known_ids, nothing known when `known` is None)
    the model reads."""
    names = [i.name for i in model.inputs]
    if names == ["tokens"]:
        return tokens
    given = {"tokens": tokens,
             "plan": rows if rows is not None else np.zeros((*tokens.shape, len(plans.COLUMNS)), np.int32),
             "known": known if known is not None else np.zeros(tokens.shape, np.int32)}
    return {name: given[name] for name in names}


def encode_all(vocab: Vocabulary, chorales) -> list[np.ndarray]:
    """Encode Chorale objects, naming the chorale in any error."""
    out = []
    for c in chorales:
        try:
            out.append(vocab.encode(c.grid))
        except ChoraleError as e:
            raise ChoraleError(f"{c.source}: {e}") from None
    return out
