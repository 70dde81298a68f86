"""Score a trained model (`chorale evaluate`): next-token NLL (nats per token) and accuracy.

"windowed" is the published reference's protocol: 32+1-chord windows every 16 chords,
every target scored with the context its window gives (a short context at the start of
each window). "whole" scores each chorale from its first token with everything before it
as context (the first token has no prediction and is not scored). Both also report NLL
per voice (the voice of the predicted token).

A model with look-ahead is also scored on what it is for, each beside the same tokens'
NLL read plainly left to right (nothing known ahead), so the gain of seeing ahead shows:
"harmonize", alto, tenor and bass given the whole soprano; "infill", 2-bar regions
(all voices, every whole 2 bars from the start) given everything outside them. The plan
stays unknown in both, so the gain is the look-ahead's alone.
"""

from __future__ import annotations

import numpy as np

from chorale import ChoraleError
from chorale.data.loader import load
from chorale.encoding import N_VOICES, STEPS_PER_BAR, Vocabulary
from chorale.model.masks import known_ids
from chorale.model.outputs import nll_accuracy
from chorale.model.run import load_run
from chorale.model.inputs import chorale_plans, encode_all, model_inputs, windows


def windowed(model, tokens: list[np.ndarray], rows: list[np.ndarray] | None = None, batch_size: int = 64) -> dict | None:
    """`rows`: each chorale's plan rows (None: the plan unknown)."""
    w = windows(tokens)
    if not len(w):
        return None
    p = None if rows is None else windows(rows)[:, :-1]
    logits = model.predict(model_inputs(model, w[:, :-1], p), batch_size=batch_size, verbose=0)
    voices = np.broadcast_to(np.arange(1, w.shape[1]) % N_VOICES, w[:, 1:].shape)
    return nll_accuracy(logits, w[:, 1:], voices, np.ones(w[:, 1:].shape, bool))


def whole(model, tokens: list[np.ndarray], rows: list[np.ndarray] | None = None, batch_tokens: int = 8192,
          eager: bool = False) -> dict:
    """Chorales sorted by length, in batches of at most `batch_tokens` padded tokens, each
    padded on the right to its longest: causal models never see the padding, and attention's
    cost (the square of the length) is not spent on it. `eager` calls the model directly
    instead of `predict`, which traces a graph for each new length (seconds each; worth it
    only for recurrent layers, which run op by op when called)."""
    order = sorted(range(len(tokens)), key=lambda i: len(tokens[i]))
    parts, i = [], 0
    while i < len(order):
        j = i + 1
        while j < len(order) and (j - i + 1) * len(tokens[order[j]]) <= batch_tokens:
            j += 1
        parts.append(_whole_batch(model, [tokens[k] for k in order[i:j]],
                                  None if rows is None else [rows[k] for k in order[i:j]], eager))
        i = j
    return nll_accuracy(*(np.concatenate([p[k].reshape(-1, *p[k].shape[2:]) for p in parts]) for k in range(4)))


def _whole_batch(model, tokens, rows, eager):
    """(logits, targets, voices, mask) of chorales padded to the longest among them."""
    n = max(len(t) for t in tokens)
    x = np.zeros((len(tokens), n), np.int32)
    p = None if rows is None else np.zeros((len(tokens), n, rows[0].shape[-1]), np.int32)
    mask = np.zeros((len(tokens), n - 1), bool)
    for i, t in enumerate(tokens):
        x[i, :len(t)] = t
        mask[i, :len(t) - 1] = True
        if p is not None:
            p[i, :len(t)] = rows[i]
    inputs = model_inputs(model, x[:, :-1], None if p is None else p[:, :-1])
    logits = np.asarray(model(inputs, training=False)) if eager else model.predict(inputs, batch_size=len(tokens),
                                                                                   verbose=0)
    voices = np.broadcast_to(np.arange(1, n) % N_VOICES, mask.shape)
    return logits, x[:, 1:], voices, mask


INFILL_STEPS = 2 * STEPS_PER_BAR  # the infill protocol's regions


def _seeing(model, tokens: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Logits (batch, length - 1, vocab) for token rows (batch, length) of one chorale, the
    cells where `known` (batch, length) is true given to the look-ahead encoder. One chorale
    at a time: padding would sit where the encoder reads."""
    inputs = model_inputs(model, tokens[:, :-1], known=known_ids(tokens[:, :-1], known[:, :-1]))
    return np.asarray(model(inputs, training=False))


def look_ahead_protocols(model, tokens: list[np.ndarray]) -> dict:
    """{protocol: {"look_ahead", "left_to_right", "gain"}} for PROTOCOLS: NLL of the unknown
    cells (targets) of each chorale's masks, with those masks given and with nothing known
    (left to right). Each chorale's masks and its plain reading run as one batch."""
    parts = {name: {"look_ahead": [], "left_to_right": []} for name in PROTOCOLS}
    for t in tokens:
        masks = {name: masks_of(len(t)) for name, masks_of in PROTOCOLS.items()}
        known = np.concatenate([np.zeros((1, len(t)), bool), *masks.values()])
        logits = _seeing(model, np.repeat(t[None], len(known), axis=0), known)
        first = 1  # row 0: nothing known
        for name, mask in masks.items():
            n = len(mask)
            targets, unknown = np.repeat(t[None, 1:], n, axis=0), ~mask[:, 1:]
            voices = np.broadcast_to(np.arange(1, len(t)) % N_VOICES, targets.shape)
            parts[name]["look_ahead"].append((logits[first:first + n], targets, voices, unknown))
            parts[name]["left_to_right"].append((np.repeat(logits[:1], n, axis=0), targets, voices, unknown))
            first += n
    out = {}
    for name, readings in parts.items():
        if not any(len(p[1]) for p in readings["look_ahead"]):
            out[name] = None
            continue
        out[name] = {reading: nll_accuracy(*(np.concatenate([p[i].reshape(-1, *p[i].shape[2:]) for p in rows])
                                      for i in range(4)))
                     for reading, rows in readings.items()}
        out[name]["gain"] = out[name]["left_to_right"]["nll"] - out[name]["look_ahead"]["nll"]
    return out


def soprano_known(length: int) -> np.ndarray:
    """The harmonize protocol's one mask: the soprano known, the rest not."""
    known = np.zeros((1, length), bool)
    known[0, ::N_VOICES] = True
    return known


def regions_unknown(length: int) -> np.ndarray:
    """The infill protocol's masks: one per whole 2-bar region from the start, everything
    outside it known."""
    size = INFILL_STEPS * N_VOICES
    known = np.ones((length // size, length), bool)
    for i in range(len(known)):
        known[i, i * size:(i + 1) * size] = False
    return known


PROTOCOLS = {"harmonize": soprano_known, "infill": regions_unknown}  # the look-ahead protocols' masks


def score_chorales(model, vocab: Vocabulary, chorales, source: str, split: str) -> dict:
    """Both protocols on `chorales` (a dataset split), with the plan unknown; a model with a
    plan input is also scored told each chorale's plan ("planned"), one with look-ahead on
    the harmonize and infill protocols. An error names the source and split."""
    chorales = [c for c in chorales if len(c.grid) > 1]
    if not chorales:
        raise ChoraleError(f"{source}: split '{split}' has no chorale longer than one step")
    tokens = encode_all(vocab, chorales)
    eager = any(layer.name == "transformer_backbone" for layer in model.layers)  # see `whole`
    out = {"chorales": len(tokens), "windowed": windowed(model, tokens), "whole": whole(model, tokens, eager=eager)}
    names = [i.name for i in model.inputs]
    if "plan" in names:
        rows = chorale_plans(chorales)
        out["planned"] = {"windowed": windowed(model, tokens, rows), "whole": whole(model, tokens, rows, eager=eager)}
    if "known" in names:
        out.update(look_ahead_protocols(model, tokens))
    return out


def evaluate(model_dir, data=None, split: str = "test") -> dict:
    model, card, vocab = load_run(model_dir)
    dataset = load(data)
    return {"model": str(model_dir), "architecture": card.get("architecture"), "data": dataset.source,
            "split": split, **score_chorales(model, vocab, dataset[split], dataset.source, split)}
