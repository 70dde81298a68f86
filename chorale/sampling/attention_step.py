"""One token of the transformer backbone (chorale.model.attention) on NumPy weights.

Each block keeps a key/value cache of every token so far: a step computes the new
token's query, key and value once, then reads the whole cache (the only cost that grows
with the past). The relative term needs q . e_d for the clipped distances d only, one
(heads, max_distance) product per step, spread over the keys by two slices. The cache
grows by doubling up to the block's max_context tokens; a longer piece is refused with
the limit named (chorale.sampling.sample checks it before the first token).
"""

from __future__ import annotations

import numpy as np

from chorale import ChoraleError
from chorale.encoding import N_VOICES, STEPS_PER_BAR

FIRST_CAPACITY = 256  # tokens the cache holds before it first grows


def _weights(layer) -> list[np.ndarray]:
    return [np.asarray(v, np.float32) for v in layer.get_weights()]


def extract_layer_norm(layer) -> tuple[str, dict]:
    if not (layer.center and layer.scale) or tuple(layer.axis) not in ((-1,), (len(layer.input.shape) - 1,)):
        raise ChoraleError(f"layer {layer.name}: only LayerNormalization over the last axis, scaled and "
                           "centred, can be sampled")
    gamma, beta = _weights(layer)
    return "layer_norm", {"gamma": gamma, "beta": beta, "epsilon": float(layer.epsilon)}


def extract_block(block) -> tuple[str, dict]:
    """chorale.model.attention.TransformerBlock's weights, flat (Sampler.save stores one level)."""
    attention = block.attention
    p = {"heads": int(block.heads), "max_context": block.max_context, "distances": np.asarray(attention.distances, np.float32)}
    if attention.distance_bias:
        p["biases"] = np.asarray(attention.biases, np.float32)
    for name, layer in (("norm1", block.norm1), ("norm2", block.norm2)):
        p[f"{name}_gamma"], p[f"{name}_beta"] = _weights(layer)
        p[f"{name}_epsilon"] = float(layer.epsilon)
    for name, layer in (("qkv", attention.qkv), ("out", attention.out), ("expand", block.expand),
                        ("contract", block.contract)):
        p[f"{name}_kernel"], p[f"{name}_bias"] = _weights(layer)
    return "transformer_block", p


def _normalized(x, epsilon):
    """LayerNormalization before its scale and shift."""
    centred = x - x.mean(axis=-1, keepdims=True)
    return centred / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + epsilon)


def layer_norm(x, gamma, beta, epsilon):
    return _normalized(x, epsilon) * gamma + beta


class LayerNormStep:
    def __init__(self, p, batch):
        self.gamma, self.beta, self.epsilon = p["gamma"], p["beta"], float(p["epsilon"])

    def __call__(self, x, t):
        return layer_norm(x, self.gamma, self.beta, self.epsilon)


def context_limit_error(limit: int, asked: int) -> ChoraleError:
    steps = limit // N_VOICES
    return ChoraleError(f"this model reads at most {limit} tokens ({steps} steps, {steps // STEPS_PER_BAR} bars "
                        f"of 4/4); the piece needs {asked} tokens ({-(-asked // N_VOICES)} steps)")


class TransformerBlockStep:
    """chorale.model.attention.TransformerBlock, one token at a time, with its key/value cache."""

    def __init__(self, p, batch):
        self.p, self.batch, self.heads = p, batch, int(p["heads"])
        self.width = p["qkv_kernel"].shape[0]
        self.size = self.width // self.heads
        self.limit = None if p.get("max_context") is None else int(p["max_context"])
        self.distances = p["distances"]  # (heads, max_distance, size)
        self.biases = p.get("biases")  # (heads, max_distance) or None
        # fewer NumPy calls per token: each norm's scale and shift folded into the matrix that
        # reads it, the query's 1 / sqrt(size) into its columns
        scale = np.ones(3 * self.width, np.float32)
        scale[:self.width] = self.size ** -0.5
        self.qkv_kernel = (p["norm1_gamma"][:, None] * p["qkv_kernel"] * scale).astype(np.float32)
        self.qkv_bias = ((p["norm1_beta"] @ p["qkv_kernel"] + p["qkv_bias"]) * scale).astype(np.float32)
        self.expand_kernel = (p["norm2_gamma"][:, None] * p["expand_kernel"]).astype(np.float32)
        self.expand_bias = (p["norm2_beta"] @ p["expand_kernel"] + p["expand_bias"]).astype(np.float32)
        self.cache = np.zeros((batch, 2, self.heads, 0, self.size), np.float32)  # keys, values

    def _make_room(self, t):
        if self.limit is not None and t >= self.limit:
            raise context_limit_error(self.limit, t + 1)
        capacity = self.cache.shape[3]
        if t < capacity:
            return
        grown = max(FIRST_CAPACITY, 2 * capacity)
        grown = grown if self.limit is None else min(grown, self.limit)
        cache = np.zeros((self.batch, 2, self.heads, grown, self.size), np.float32)
        cache[:, :, :, :capacity] = self.cache
        self.cache = cache

    def __call__(self, x, t):
        p, batch, heads, size = self.p, self.batch, self.heads, self.size
        self._make_room(t)
        qkv = (_normalized(x, p["norm1_epsilon"]) @ self.qkv_kernel + self.qkv_bias).reshape(batch, 3, heads, size)
        q = qkv[:, 0]  # (batch, heads, size), already divided by sqrt(size)
        self.cache[:, :, :, t] = qkv[:, 1:]
        keys, values = self.cache[:, 0, :, :t + 1], self.cache[:, 1, :, :t + 1]
        logits = np.matmul(keys, q[..., None])[..., 0]  # (batch, heads, t + 1)
        near = np.matmul(self.distances[None], q[..., None])[..., 0]  # (batch, heads, max_distance): q . e_d
        if self.biases is not None:
            near += self.biases
        distinct = min(t + 1, near.shape[-1])  # the last keys, at distances distinct - 1 .. 0
        logits[..., t + 1 - distinct:] += near[..., distinct - 1::-1]
        if t + 1 > distinct:  # the keys further back share the last (clipped) distance
            logits[..., :t + 1 - distinct] += near[..., -1:]
        weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
        weights /= weights.sum(axis=-1, keepdims=True)
        read = np.matmul(weights[:, :, None], values)[:, :, 0].reshape(batch, self.width)
        x = x + read @ p["out_kernel"] + p["out_bias"]
        h = np.maximum(_normalized(x, p["norm2_epsilon"]) @ self.expand_kernel + self.expand_bias, 0)
        return x + h @ p["contract_kernel"] + p["contract_bias"]
