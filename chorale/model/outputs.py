"""What a model's logits mean: log-probabilities, and the NLL and accuracy of the tokens
that came. NumPy only: the evaluator (on Keras's logits) and the sampler (on its own)
read them the same way."""

from __future__ import annotations

import numpy as np

from chorale.encoding import N_VOICES, VOICES


def log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def nll_accuracy(logits: np.ndarray, targets: np.ndarray, voices: np.ndarray, mask: np.ndarray) -> dict:
    """NLL, accuracy and per-voice NLL (voices with a token scored) over the positions where
    `mask` is true."""
    logits = logits.astype(np.float64)
    nll = -np.take_along_axis(log_softmax(logits), targets[..., None], axis=-1)[..., 0][mask]
    hit = (logits.argmax(axis=-1) == targets)[mask]
    voices = voices[mask]
    return {"nll": float(nll.mean()), "accuracy": float(hit.mean()), "tokens": int(mask.sum()),
            "per_voice": {VOICES[v]: float(nll[voices == v].mean()) for v in range(N_VOICES) if (voices == v).any()}}
