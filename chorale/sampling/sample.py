"""Autoregressive sampling, one token at a time, at a constant cost per token.

The book's sampler runs the whole model over the whole prefix for every new note:
O(length^2). Here a `Stepper` runs the trained model one token at a time on NumPy
copies of its weights (Fast WaveNet generation, Paine et al. 2016): each causal
convolution keeps a ring buffer of its last (kernel - 1) * dilation inputs, recurrent
layers carry their state, embeddings and heads see one token. NumPy avoids per-call
framework overhead (about 0.2 ms a token instead of 2.4 ms for a tf.function call) and
works whatever KERAS_BACKEND the model was trained with.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chorale import ChoraleError
from chorale.encoding import N_VOICES, REST, STEPS_PER_BAR, Vocabulary
from chorale.music import FIFTH, OCTAVE, OUTER, SOPRANO_STEP

SAMPLER_FILE = "sampler.npz"  # the weights as NumPy arrays: generate never imports TensorFlow


def _sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # the logistic function, stable for any x


ACTIVATIONS = {"linear": lambda x: x, "relu": lambda x: np.maximum(x, 0), "tanh": np.tanh, "sigmoid": _sigmoid}


# ---------------------------------------------------------------------------- from Keras
def _activation(layer) -> str:
    name = getattr(layer.activation, "__name__", str(layer.activation))
    if name not in ACTIVATIONS:
        raise ChoraleError(f"layer {layer.name}: activation '{name}' is not supported by the sampler")
    return name


def _conv(layer) -> dict:
    kernel, bias = (np.asarray(w, np.float32) for w in layer.get_weights())
    if layer.strides[0] != 1 or (kernel.shape[0] > 1 and layer.padding != "causal"):
        raise ChoraleError(f"layer {layer.name}: only causal stride-1 convolutions can be sampled")
    return {"kernel": kernel, "bias": bias, "dilation": layer.dilation_rate[0], "activation": _activation(layer)}


def _extract(layer) -> tuple[str, dict] | None:
    """One Keras layer as (kind, parameters) for the stepper; None for layers that do
    nothing at inference (Dropout)."""
    kind = type(layer).__name__
    w = [np.asarray(v, np.float32) for v in layer.get_weights()]
    if kind == "Conv1D":
        return "conv", _conv(layer)
    if kind == "Dense":
        return "conv", {"kernel": w[0][None], "bias": w[1], "dilation": 1, "activation": _activation(layer)}
    if kind == "BatchNormalization":
        gamma, beta, mean, var = w
        scale = gamma / np.sqrt(var + layer.epsilon)
        return "affine", {"scale": scale, "shift": beta - mean * scale}
    if kind == "GRU":
        if not layer.cell.reset_after:
            raise ChoraleError(f"layer {layer.name}: only GRU(reset_after=True) can be sampled")
        return "gru", {"kernel": w[0], "recurrent": w[1], "bias": w[2]}
    if kind == "LSTM":
        return "lstm", {"kernel": w[0], "recurrent": w[1], "bias": w[2]}
    if kind == "ResidualBlock":
        conv, mix = _conv(layer.conv), _conv(layer.mix)
        return "residual", {**conv, "mix_kernel": mix["kernel"], "mix_bias": mix["bias"], "gated": layer.gated}
    if kind == "Embedding":
        return "embedding", {"tokens": w[0]}
    if kind == "ChoraleEmbedding":
        return "embedding", {"tokens": w[0], "voices": w[1], "steps": w[2]}
    if kind == "Activation":
        return "activation", {"activation": _activation(layer)}
    if kind == "Dropout":
        return None
    if kind in ("Sequential", "Functional"):
        return "stack", {}
    raise ChoraleError(f"layer {layer.name} ({kind}) is not supported by the sampler")


def _layers(model):
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        if type(layer).__name__ in ("Sequential", "Functional"):
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


class _Embedding:
    """Token embedding, plus chorale.model.networks.ChoraleEmbedding's voice (t % 4) and
    step-in-bar embeddings when the model has them."""

    def __init__(self, p, batch):
        self.tokens, self.voices, self.steps = p["tokens"], p.get("voices"), p.get("steps")

    def __call__(self, tokens, t):
        x = self.tokens[tokens]
        if self.voices is not None:
            x = x + self.voices[t % N_VOICES] + self.steps[(t // N_VOICES) % STEPS_PER_BAR]
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


_STEPS = {"conv": _Conv, "residual": _Residual, "gru": _GRU, "lstm": _LSTM, "embedding": _Embedding,
          "affine": _Affine, "activation": _Activation}


class Sampler:
    """A chorale model's weights as NumPy arrays, layer by layer, ready to step."""

    def __init__(self, layers: list[tuple[str, dict]]):
        self.layers = layers

    @classmethod
    def from_model(cls, model) -> Sampler:
        return cls([e for e in map(_extract, _layers(model)) if e is not None])

    def stepper(self, batch: int = 1) -> Stepper:
        return Stepper([_STEPS[kind](p, batch) for kind, p in self.layers])

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
        return self.stepper()(np.zeros(1, np.int64), 0).shape[-1]


def file_hash(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_sampler(model_dir):
    """(Sampler, card, vocabulary) of a trained model folder.

    Uses the folder's sampler.npz when it was made from this model.keras (no TensorFlow
    import: generate starts in about a second); otherwise loads the Keras model once and
    writes sampler.npz beside it when the folder is writable.
    """
    from chorale.io.files import read_card

    model_dir = Path(model_dir)
    card, vocab = read_card(model_dir)
    source = file_hash(model_dir / "model.keras")
    sampler = Sampler.load(model_dir / SAMPLER_FILE, source)
    if sampler is None:
        from chorale.model.evaluate import load_run

        sampler = Sampler.from_model(load_run(model_dir)[0])
        try:
            sampler.save(model_dir / SAMPLER_FILE, source)
        except (ChoraleError, OSError):
            pass  # a read-only install: sample from memory, try again next time
    if sampler.output_width() != vocab.size:  # the card was edited after sampler.npz was made
        raise ChoraleError(f"{model_dir}: the model predicts {sampler.output_width()} classes, "
                           f"its card says {vocab.size}")
    return sampler, card, vocab


class Stepper:
    """Runs a chorale model (tokens -> next-token logits) one token at a time for a batch."""

    def __init__(self, steps):
        self.steps = steps

    def __call__(self, tokens: np.ndarray, t: int) -> np.ndarray:
        """Feed token t of every sequence in the batch; return logits for token t + 1."""
        x = tokens
        for step in self.steps:
            x = step(x, t)
        return x


@dataclass(frozen=True)
class Controls:
    """How the next token is picked from the model's distribution."""

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    greedy: bool = False
    voice_ranges: np.ndarray | None = None  # (4, 2) pitch range per voice; None = any pitch
    voice_leading: bool = True  # redraw notes that complete parallel or hidden 5ths/8ves (see `sample`)

    def __post_init__(self):
        if self.temperature <= 0:
            raise ChoraleError(f"temperature must be > 0, got {self.temperature}")
        if self.top_k is not None and self.top_k < 1:
            raise ChoraleError(f"top-k must be at least 1, got {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ChoraleError(f"top-p must be in (0, 1], got {self.top_p}")


def allowed_tokens(vocab: Vocabulary, voice_ranges) -> np.ndarray:
    """(4, vocab.size) boolean mask: the rest and the pitches inside each voice's range."""
    mask = np.ones((N_VOICES, vocab.size), bool)
    if voice_ranges is not None:
        pitches = np.arange(vocab.size) + vocab.low - 1
        for v, (low, high) in enumerate(np.asarray(voice_ranges)):
            mask[v] = (pitches >= low) & (pitches <= high)
        mask[:, 0] = True
    return mask


def log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def next_token_probs(logits: np.ndarray, controls: Controls, allowed: np.ndarray) -> np.ndarray:
    """Turn (batch, vocab) logits into the distribution to sample from."""
    logits = np.where(allowed, logits / controls.temperature, -np.inf)
    if controls.greedy:
        return (logits == logits.max(axis=-1, keepdims=True)).astype(np.float64)
    if controls.top_k is not None and controls.top_k < logits.shape[-1]:
        kth = np.sort(logits, axis=-1)[:, -controls.top_k][:, None]
        logits = np.where(logits >= kth, logits, -np.inf)
    probs = np.exp(log_softmax(logits.astype(np.float64)))
    if controls.top_p is not None and controls.top_p < 1:
        order = np.argsort(-probs, axis=-1, kind="stable")
        sorted_probs = np.take_along_axis(probs, order, axis=-1)
        # keep the smallest prefix of most likely tokens whose mass reaches top_p
        keep_sorted = np.cumsum(sorted_probs, axis=-1) - sorted_probs < controls.top_p
        keep = np.zeros_like(keep_sorted)
        np.put_along_axis(keep, order, keep_sorted, axis=-1)
        probs = np.where(keep, probs, 0.0)
    return probs / probs.sum(axis=-1, keepdims=True)


def inverse_cdf(probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The token where each uniform draw u falls in its row's cumulative distribution."""
    picks = (probs.cumsum(axis=-1) < u[:, None] * probs.sum(axis=-1, keepdims=True)).sum(axis=-1)
    return np.minimum(picks, probs.shape[-1] - 1)


PERFECT = np.isin(np.arange(12), (FIFTH, OCTAVE))  # by interval class: fifths and octaves (unisons)
OTHER_VOICES = ~np.eye(N_VOICES, dtype=bool)


def forbidden_tokens(previous: np.ndarray, current: np.ndarray, voice: int, candidates: np.ndarray) -> np.ndarray:
    """(batch, n) whether `voice` singing each of `candidates` ((batch or 1, n) tokens) would
    complete, as `chorale.music` counts them, a parallel fifth or octave with another voice
    whose token in the chord being written is already known, or a hidden one between the
    soprano and the bass.

    previous, current: (batch, 4) tokens of the last chord and of the chord being written
    (-1: not decided yet). Tokens differ by the same semitones as their pitches. Comparing
    with the previous step is exactly music.py's comparison with the previous chord change:
    a pair that moves changes the chord, and the chord it leaves is the previous step.
    """
    return _parallel(previous, current, voice, candidates) | _hidden(previous, current, voice, candidates)


def _parallel(previous, current, voice, candidates):
    here = previous[:, voice, None]
    before = np.abs(previous - here) % 12
    moved = ((current > REST) & (current != previous) & PERFECT[before] & (previous > REST) & (here > REST)
             & OTHER_VOICES[voice])
    if not moved.any():  # no voice could make one with it: the common case, made cheap
        return np.zeros(np.broadcast_shapes(here.shape, candidates.shape), bool)
    after = np.abs(current[:, :, None] - candidates[:, None, :]) % 12
    parallel = (moved[:, :, None] & (after == before[:, :, None])).any(axis=1)
    return parallel & (candidates > REST) & (candidates != here)  # a held note is oblique motion


def _hidden(previous, current, voice, candidates):
    """Soprano and bass reach a fifth or octave (from another interval) in similar motion,
    the soprano by a leap."""
    shape = np.broadcast_shapes(previous[:, :1].shape, candidates.shape)
    if voice not in OUTER:
        return np.zeros(shape, bool)
    other = OUTER[1] if voice == OUTER[0] else OUTER[0]
    here, there = previous[:, voice, None], previous[:, other, None]
    other_move = current[:, other, None] - there
    known = (current[:, other, None] > REST) & (there > REST) & (here > REST) & (other_move != 0)
    if not known.any():
        return np.zeros(shape, bool)
    move = candidates - here
    soprano_move = move if voice == OUTER[0] else other_move
    before = np.abs(here - there) % 12
    after = np.abs(candidates - current[:, other, None]) % 12
    return (known & (candidates > REST) & (np.sign(move) == np.sign(other_move)) & PERFECT[after]
            & (after != before) & (np.abs(soprano_move) > SOPRANO_STEP))


def sample(model, vocab: Vocabulary, forced: np.ndarray, seeds, controls: Controls = Controls(),
           progress=None):
    """Sample token sequences, one token at a time, from a Sampler or a Keras chorale model.

    forced: (batch, tokens) int array; a value >= 0 is given (primer notes, a melody to
    harmonize) and is fed to the model as it is; -1 marks tokens to sample. Every sequence
    has its own random generator (seeded from `seeds`), so a batch gives the same music as
    sampling each sequence alone. The first token must be given.

    With `controls.voice_leading`, a sampled note that would complete a parallel fifth or
    octave with a voice already known in its chord (sampled before it, or given), or a
    hidden one between soprano and bass, is drawn again, with the sequence's next random
    number, from the distribution without such notes: exactly the model's distribution
    conditioned on no such fault, and the music is unchanged up to the first one. If that
    would leave only the rest, the note is kept.
    Returns (tokens (batch, length), the model's mean log-likelihood per sampled token (batch,)).
    """
    forced = np.asarray(forced)
    batch, length = forced.shape
    if (forced[:, 0] < 0).any():
        raise ChoraleError("the first token must be given (use a primer)")
    rngs = [np.random.default_rng(s) for s in seeds]
    allowed = allowed_tokens(vocab, controls.voice_ranges)
    everything = np.arange(vocab.size)[None]
    sampler = model if isinstance(model, Sampler) else Sampler.from_model(model)
    stepper = sampler.stepper(batch)
    tokens = forced.copy()
    loglik = np.zeros(batch)
    sampled = np.zeros(batch)
    for t in range(length - 1):
        logits = stepper(tokens[:, t], t)
        free = tokens[:, t + 1] < 0
        if free.any():
            voice = (t + 1) % N_VOICES
            chord_start = t + 1 - voice
            probs = next_token_probs(logits, controls, allowed[voice])
            # each sequence draws from its own generator for its own tokens: batching never changes the music
            u = np.array([rng.random() if f else 0.0 for rng, f in zip(rngs, free)])
            picks = inverse_cdf(probs, u)
            if controls.voice_leading and chord_start:
                previous = tokens[:, chord_start - N_VOICES: chord_start]
                current = tokens[:, chord_start: chord_start + N_VOICES]
                redraw = np.flatnonzero(free & forbidden_tokens(previous, current, voice, picks[:, None])[:, 0])
                if redraw.size:
                    guarded = allowed[voice] & ~forbidden_tokens(previous[redraw], current[redraw], voice, everything)
                    has_pitch = guarded[:, 1:].any(axis=1)  # token 0 is the rest: never force one
                    redraw, guarded = redraw[has_pitch], guarded[has_pitch]
                    u = np.array([rngs[i].random() for i in redraw])
                    picks[redraw] = inverse_cdf(next_token_probs(logits[redraw], controls, guarded), u)
            tokens[free, t + 1] = picks[free]
            loglik[free] += log_softmax(logits)[free, picks[free]]
            sampled += free
        if progress is not None:
            progress(1)
    return tokens, loglik / np.maximum(sampled, 1)


# ---------------------------------------------------------------------------- generate
PRIMER_STEPS = 2 * STEPS_PER_BAR  # the default primer: the opening two bars of a held-out chorale


def primer_grid(spec: str | None, seed: int, data=None) -> np.ndarray:
    """The (steps, 4) opening to continue.

    None: the opening two bars of the held-out (test) chorale the seed picks, so different
    seeds start from different music. "test:3" (or "valid:0", ...): that chorale's opening
    two bars. "none": a single rest chord, so the model writes everything. Anything else
    is a .csv, MIDI or MusicXML file, used whole.
    """
    from chorale.data.loader import SPLITS, load

    if spec is not None and spec.lower() == "none":
        return np.zeros((1, N_VOICES), dtype=np.int32)
    split, _, index = (spec or "test:").partition(":")
    if spec is None or (split in SPLITS and index.isdigit()):
        chorales = load(data)[split]
        i = seed % len(chorales) if spec is None else int(index)
        if i >= len(chorales):
            raise ChoraleError(f"no primer '{spec}': the {split} split has chorales 0..{len(chorales) - 1}")
        return chorales[i].notes[:PRIMER_STEPS]
    from chorale.io.midi import read_grid

    return read_grid(spec)


def generate(model, vocab: Vocabulary, primers: list[np.ndarray], steps: int, seeds, controls: Controls,
             progress=None):
    """Continue each primer to `steps` chords; return the grids and mean log-likelihoods."""
    forced = np.full((len(primers), steps * N_VOICES), -1, dtype=np.int64)
    for row, primer in zip(forced, primers):
        if len(primer) > steps:
            raise ChoraleError(f"the primer has {len(primer)} steps, more than the {steps} requested")
        tokens = vocab.encode(primer)
        row[: len(tokens)] = tokens
    tokens, loglik = sample(model, vocab, forced, seeds, controls, progress)
    return [vocab.decode(t) for t in tokens], loglik
