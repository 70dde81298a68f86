"""Run a trained chorale model one token at a time, at a constant cost per token.

The book's sampler runs the whole model over the whole prefix for every new note:
O(length^2). Here a `Stepper` runs the trained model one token at a time on NumPy
copies of its weights (Fast WaveNet generation, Paine et al. 2016): each causal
convolution keeps a ring buffer of its last (kernel - 1) * dilation inputs, recurrent
layers carry their state, embeddings and heads see one token. NumPy avoids per-call
framework overhead (about 0.2 ms a token instead of 2.4 ms for a tf.function call) and
works whatever KERAS_BACKEND the model was trained with. A model with look-ahead reads
the known cells through a non-causal encoder (chorale.model.networks.LookAhead); it runs
once per piece, when the stepper is made (`look_ahead`), and each step adds its row.

Adding a layer (or a backbone made of new layers): its class -> extractor in
`_extractors`, a step class in `STEPS`, and an exactness test in tests/test_sample.py.
The transformer's steps (a key/value cache) live in chorale.sampling.attention_step.
"""

from __future__ import annotations

import functools
import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

from chorale import ChoraleError
from chorale.encoding import N_VOICES, STEPS_PER_BAR
from chorale.sampling import attention_step

SAMPLER_FILE = "sampler.npz"  # the weights as NumPy arrays: generate never imports TensorFlow


def one_thread(function):
    """Run `function` with NumPy's BLAS on one thread. A step multiplies matrices of a few
    thousand numbers, where BLAS threads only add hand-offs: 64 pieces of 16 bars took 66 s
    with two threads on a busy 2-core machine, 3.6 s with one."""
    @functools.wraps(function)
    def limited(*args, **kwargs):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            return function(*args, **kwargs)
    return limited


def _sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # the logistic function, stable for any x


ACTIVATIONS = {"linear": lambda x: x, "relu": lambda x: np.maximum(x, 0), "tanh": np.tanh, "sigmoid": _sigmoid}


# ---------------------------------------------------------------------------- from Keras
def _weights(layer) -> list[np.ndarray]:
    return [np.asarray(v, np.float32) for v in layer.get_weights()]


def _activation(layer) -> str:
    name = getattr(layer.activation, "__name__", str(layer.activation))
    if name not in ACTIVATIONS:
        raise ChoraleError(f"layer {layer.name}: activation '{name}' is not supported by the sampler")
    return name


def _conv(layer) -> tuple[str, dict]:
    kernel, bias = _weights(layer)
    if layer.strides[0] != 1 or (kernel.shape[0] > 1 and layer.padding != "causal"):
        raise ChoraleError(f"layer {layer.name}: only causal stride-1 convolutions can be sampled")
    return "conv", {"kernel": kernel, "bias": bias, "dilation": layer.dilation_rate[0],
                    "activation": _activation(layer)}


def _dense(layer):
    kernel, bias = _weights(layer)
    return "conv", {"kernel": kernel[None], "bias": bias, "dilation": 1, "activation": _activation(layer)}


def _batch_norm(layer):
    gamma, beta, mean, var = _weights(layer)
    scale = gamma / np.sqrt(var + layer.epsilon)
    return "affine", {"scale": scale, "shift": beta - mean * scale}


def _gru(layer):
    if not layer.cell.reset_after:
        raise ChoraleError(f"layer {layer.name}: only GRU(reset_after=True) can be sampled")
    kernel, recurrent, bias = _weights(layer)
    return "gru", {"kernel": kernel, "recurrent": recurrent, "bias": bias}


def _lstm(layer):
    kernel, recurrent, bias = _weights(layer)
    return "lstm", {"kernel": kernel, "recurrent": recurrent, "bias": bias}


def _residual(layer):
    conv, mix = _conv(layer.conv)[1], _conv(layer.mix)[1]
    return "residual", {**conv, "mix_kernel": mix["kernel"], "mix_bias": mix["bias"], "gated": layer.gated}


def _embedding(layer):
    return "embedding", {"tokens": _weights(layer)[0]}


def _chorale_embedding(layer):
    p = {"tokens": _weights(layer.tokens)[0], "voices": _weights(layer.voices)[0], "steps": _weights(layer.steps)[0]}
    for i, table in enumerate(layer.plan_tables):
        p[f"plan{i}"] = _weights(table)[0]
        p[f"plan{i}"][0] = 0  # id 0 (unknown) adds nothing, as in ChoraleEmbedding.call
    if layer.encoder is not None:  # flat names: Sampler.save stores one level of arrays
        encoder = layer.encoder
        p.update(ahead_cells=_weights(encoder.cells)[0], ahead_voices=_weights(encoder.voices)[0],
                 ahead_steps=_weights(encoder.steps)[0], ahead_dilations=list(encoder.dilations))
        for j, conv in enumerate(encoder.convs):
            p[f"ahead_kernel{j}"], p[f"ahead_bias{j}"] = _weights(conv)
        p["ahead_out_kernel"], p["ahead_out_bias"] = _weights(encoder.out)
    return "embedding", p


def _activation_layer(layer):
    return "activation", {"activation": _activation(layer)}


@functools.cache
def _extractors() -> dict:
    """Layer class -> its extractor (None: nothing at inference). Exact classes, not
    isinstance: a subclass may compute something else and must be added on purpose."""
    from keras import layers

    from chorale.model import attention, networks

    return {layers.Conv1D: _conv, layers.Dense: _dense, layers.BatchNormalization: _batch_norm,
            layers.GRU: _gru, layers.LSTM: _lstm, layers.Embedding: _embedding, layers.Activation: _activation_layer,
            layers.Dropout: None, networks.ResidualBlock: _residual, networks.ChoraleEmbedding: _chorale_embedding,
            layers.LayerNormalization: attention_step.extract_layer_norm,
            attention.TransformerBlock: attention_step.extract_block}


def _extract(layer) -> tuple[str, dict] | None:
    extractors = _extractors()
    if type(layer) not in extractors:
        raise ChoraleError(f"layer {layer.name} ({type(layer).__name__}) is not supported by the sampler")
    extract = extractors[type(layer)]
    return extract(layer) if extract else None


def _layers(model):
    """The model's layers in order, nested models (the backbone) flattened, inputs skipped."""
    from chorale.backend import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            yield from _layers(layer)
        else:
            yield layer


# ---------------------------------------------------------------------------- one step
class _Conv:
    """A causal Conv1D (or Dense: kernel size 1) stepped with a ring buffer of its last
    (kernel - 1) * dilation inputs; tap j sees the input (k - 1 - j) * dilation steps back.
    The taps are stacked into one matrix, so a step is one matrix product whatever k is."""

    def __init__(self, p, batch):
        kernel = p["kernel"]
        self.taps, width, _ = kernel.shape
        self.weights = kernel.reshape(self.taps * width, -1)  # oldest tap first, the current input last
        self.bias, self.dilation = p["bias"], int(p["dilation"])
        self.act = None if p["activation"] == "linear" else ACTIVATIONS[str(p["activation"])]
        self.span = (self.taps - 1) * self.dilation
        self.buffer = np.zeros((batch, max(self.span, 1), width), np.float32)

    def __call__(self, x, t):
        if self.span:
            past = [self.buffer[:, (t - (self.taps - 1 - j) * self.dilation) % self.span] for j in range(self.taps - 1)]
            x_all = np.concatenate([*past, x], axis=-1)  # a copy: safe to overwrite the oldest input now
            self.buffer[:, t % self.span] = x
            x = x_all
        out = x @ self.weights + self.bias
        return out if self.act is None else self.act(out)


class _Residual:
    """chorale.model.networks.ResidualBlock: x + mix(act(causal dilated conv(x)))."""

    def __init__(self, p, batch):
        self.conv, self.gated = _Conv(p, batch), bool(p["gated"])
        self.mix = _Conv({"kernel": p["mix_kernel"], "bias": p["mix_bias"], "dilation": 1,
                          "activation": "linear"}, batch)

    def __call__(self, x, t):
        h = self.conv(x, t)
        if self.gated:
            a, b = np.split(h, 2, axis=-1)
            h = np.tanh(a) * _sigmoid(b)
        return x + self.mix(h, t)


class _GRU:
    """Keras GRU (reset_after=True): gates z, r and the candidate, in that order."""

    def __init__(self, p, batch):
        self.kernel, self.recurrent, self.bias = p["kernel"], p["recurrent"], p["bias"]
        self.h = np.zeros((batch, self.recurrent.shape[0]), np.float32)

    def __call__(self, x, t):
        xz, xr, xh = np.split(x @ self.kernel + self.bias[0], 3, axis=-1)
        hz, hr, hh = np.split(self.h @ self.recurrent + self.bias[1], 3, axis=-1)
        z, r = _sigmoid(xz + hz), _sigmoid(xr + hr)
        self.h = z * self.h + (1 - z) * np.tanh(xh + r * hh)
        return self.h


class _LSTM:
    """Keras LSTM: gates i, f, the candidate and o, in that order."""

    def __init__(self, p, batch):
        self.kernel, self.recurrent, self.bias = p["kernel"], p["recurrent"], p["bias"]
        self.h = np.zeros((batch, self.recurrent.shape[0]), np.float32)
        self.c = np.zeros_like(self.h)

    def __call__(self, x, t):
        i, f, g, o = np.split(x @ self.kernel + self.h @ self.recurrent + self.bias, 4, axis=-1)
        self.c = _sigmoid(f) * self.c + _sigmoid(i) * np.tanh(g)
        self.h = _sigmoid(o) * np.tanh(self.c)
        return self.h


def look_ahead(p: dict, known: np.ndarray, offset: int = 0) -> np.ndarray:
    """chorale.model.networks.LookAhead on NumPy weights: (batch, time) known ids ->
    (batch, time, dim), row t for token t + 1. "same" padding: (k - 1) * d zeros, half on
    each side, as Keras pads. `known` may be a slice of a piece that starts at token
    `offset` (rows within the encoder's reach of a cut end differ from the whole piece's)."""
    known = np.asarray(known)
    t = np.arange(offset, offset + known.shape[1])
    x = p["ahead_cells"][known] + (p["ahead_voices"][t % N_VOICES] + p["ahead_steps"][(t // N_VOICES) % STEPS_PER_BAR])
    for j, dilation in enumerate(p["ahead_dilations"]):
        kernel, bias = p[f"ahead_kernel{j}"], p[f"ahead_bias{j}"]
        pad = (len(kernel) - 1) * int(dilation)
        padded = np.pad(x, ((0, 0), (pad // 2, pad - pad // 2), (0, 0)))
        h = sum(padded[:, i * dilation: i * dilation + x.shape[1]] @ kernel[i] for i in range(len(kernel)))
        x = x + np.maximum(h + bias, 0)
    out = x @ p["ahead_out_kernel"] + p["ahead_out_bias"]
    return np.concatenate([out[:, 1:], np.zeros_like(out[:, :1])], axis=1).astype(np.float32)


class _Embedding:
    """Token embedding, plus chorale.model.networks.ChoraleEmbedding's voice (t % 4) and
    step-in-bar embeddings and its plan embeddings (one table per plan column) when the
    model has them. (Its look-ahead rows are the Stepper's `context`.)"""

    def __init__(self, p, batch):
        self.tokens, self.voices, self.steps = p["tokens"], p.get("voices"), p.get("steps")
        self.plan = [p[f"plan{i}"] for i in range(len(p)) if f"plan{i}" in p]

    def __call__(self, tokens, t, plan=None):
        x = self.tokens[tokens]
        if self.voices is not None:
            x = x + self.voices[t % N_VOICES] + self.steps[(t // N_VOICES) % STEPS_PER_BAR]
        if plan is not None:  # None: every part unknown, which adds nothing (row 0 is zero)
            for i, table in enumerate(self.plan):
                x = x + table[plan[:, i]]
        return x


class _Affine:
    def __init__(self, p, batch):
        self.scale, self.shift = p["scale"], p["shift"]

    def __call__(self, x, t):
        return x * self.scale + self.shift


class _Activation:
    def __init__(self, p, batch):
        self.act = ACTIVATIONS[str(p["activation"])]

    def __call__(self, x, t):
        return self.act(x)


STEPS = {"conv": _Conv, "residual": _Residual, "gru": _GRU, "lstm": _LSTM, "embedding": _Embedding,
         "affine": _Affine, "activation": _Activation, "layer_norm": attention_step.LayerNormStep,
         "transformer_block": attention_step.TransformerBlockStep}


class Sampler:
    """A chorale model's weights as NumPy arrays, layer by layer, ready to step."""

    def __init__(self, layers: list[tuple[str, dict]]):
        self.layers = layers

    @classmethod
    def from_model(cls, model) -> Sampler:
        return cls([e for e in map(_extract, _layers(model)) if e is not None])

    @property
    def plan_columns(self) -> int:
        """How many plan columns the model reads (0: a model trained without a plan)."""
        kind, p = self.layers[0]
        return sum(k.startswith("plan") for k in p) if kind == "embedding" else 0

    @property
    def max_tokens(self) -> int | None:
        """The longest sequence the stepper runs (a key/value cache's size), None: any."""
        limits = [int(p["max_context"]) for kind, p in self.layers if p.get("max_context") is not None]
        return min(limits, default=None)

    def check_length(self, tokens: int) -> None:
        """Refuse, naming the limit, a sequence longer than the model's context."""
        if self.max_tokens is not None and tokens > self.max_tokens:
            raise attention_step.context_limit_error(self.max_tokens, tokens)

    @property
    def looks_ahead(self) -> bool:
        """Whether the model reads the known cells (a look-ahead encoder)."""
        if not self.layers:
            return False
        kind, p = self.layers[0]
        return kind == "embedding" and "ahead_cells" in p

    def stepper(self, batch: int = 1, known: np.ndarray | None = None, start: int = 0,
                stop: int | None = None) -> Stepper:
        """A stepper for `batch` sequences. A model with look-ahead needs `known` (batch, time)
        known ids (chorale.model.masks.known_ids; all 0: nothing known) for the whole piece;
        one row stands for every sequence when they all know the same cells (harmonize and
        regenerate candidates): the encoder then runs once. `start`..`stop`: the tokens the
        stepper will be fed; the encoder reads only as far around them as it reaches."""
        context, offset = None, 0
        if self.looks_ahead:
            if known is None or np.shape(known)[0] not in (1, batch):
                raise ChoraleError("a model with look-ahead needs the known cells of every sequence (known=)")
            length = np.shape(known)[1]
            stop = length - 1 if stop is None else stop
            _, left, right = self.receptive_field()
            offset, end = max(0, start + 1 - left), min(length, stop + 2 + right)
            context = look_ahead(self.layers[0][1], np.asarray(known)[:, offset:end], offset)
        return Stepper(self.layers, batch, context, offset)

    def receptive_field(self) -> tuple[int | None, int, int]:
        """(how many tokens back the causal stack's output at t reads: None when a recurrent
        layer remembers everything; how many tokens behind and ahead the look-ahead encoder
        reads). Logits at t depend on nothing further away, so sampling a region needs
        only the tokens within reach of it."""
        back = 0
        for kind, p in self.layers:
            if kind in ("gru", "lstm"):
                back = None
                break
            if kind in ("conv", "residual"):
                back += (len(p["kernel"]) - 1) * int(p["dilation"])
        left = right = 0
        if self.looks_ahead:
            p = self.layers[0][1]
            for j, dilation in enumerate(p["ahead_dilations"]):
                pad = (len(p[f"ahead_kernel{j}"]) - 1) * int(dilation)
                left, right = left + pad // 2, right + pad - pad // 2
        return back, left, right

    def save(self, path, source_hash: str) -> None:
        from chorale.io.files import atomic_write

        arrays, meta = {}, []
        for i, (kind, p) in enumerate(self.layers):
            meta.append({"kind": kind, **{k: v for k, v in p.items() if not isinstance(v, np.ndarray)}})
            arrays.update({f"{i}/{k}": v for k, v in p.items() if isinstance(v, np.ndarray)})
        meta = {"source_sha256": source_hash, "layers": meta}
        with atomic_write(path, "wb") as f:
            np.savez(f, __meta__=np.array(json.dumps(meta)), **arrays)

    @classmethod
    def load(cls, path, source_hash: str | None = None) -> Sampler | None:
        """The saved sampler, or None when it is missing, damaged or made from other weights."""
        try:
            with np.load(path, allow_pickle=False) as f:
                meta = json.loads(str(f["__meta__"]))
                if source_hash is not None and meta["source_sha256"] != source_hash:
                    return None
                layers = []
                for i, m in enumerate(meta["layers"]):
                    p = {k: v for k, v in m.items() if k != "kind"}
                    p.update({k.split("/", 1)[1]: f[k] for k in f.files if k.startswith(f"{i}/")})
                    layers.append((m["kind"], p))
            sampler = cls(layers)
            sampler.output_width()  # a damaged file fails here, not halfway through a song
        except (OSError, ValueError, KeyError, IndexError, TypeError, EOFError, zipfile.BadZipFile):
            return None
        return sampler

    def output_width(self) -> int:
        """How many classes the model predicts (one step on token 0)."""
        return self.stepper(known=np.zeros((1, 1), np.int32))(np.zeros(1, np.int64), 0).shape[-1]


def file_hash(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class Stepper:
    """Runs a chorale model (tokens -> next-token logits) one token at a time for a batch;
    `context` (batch or 1, time, dim): the look-ahead encoder's rows from token `offset` on,
    added to the embedding."""

    def __init__(self, layers: list[tuple[str, dict]], batch: int, context: np.ndarray | None = None,
                 offset: int = 0):
        self.layers, self.batch, self.context, self.offset = layers, batch, context, offset
        self.steps = [STEPS[kind](p, batch) for kind, p in layers]

    def fresh(self) -> Stepper:
        """A new stepper on the same weights and known cells, from the first token (the
        encoder is not run again)."""
        return Stepper(self.layers, self.batch, self.context, self.offset)

    def __call__(self, tokens: np.ndarray, t: int, plan: np.ndarray | None = None) -> np.ndarray:
        """Feed token t of every sequence in the batch (with its plan row, (batch, columns)
        ids, or None: no plan); return logits for token t + 1."""
        x = self.steps[0](tokens, t, plan)
        if self.context is not None:
            x = x + self.context[:, t - self.offset]
        for step in self.steps[1:]:
            x = step(x, t)
        return x
