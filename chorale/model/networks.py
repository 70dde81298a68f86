"""The shared sequence core: causal backbones and the chorale head.

A backbone maps (batch, time, features) -> (batch, time, channels) and never looks
ahead: output t depends on inputs <= t only. The chorale model adds a token embedding
(plus voice and position-in-bar embeddings) in front and a Dense layer giving logits
over the vocabulary, so output t predicts token t + 1. Everything is plain Keras layers
(causal Conv1D, GRU, LSTM, Dense, Embedding) so a sampler can later step the weights one
token at a time (Fast WaveNet queues, carried recurrent state).
"""

from __future__ import annotations

from chorale.backend import keras

layers, ops = keras.layers, keras.ops

from chorale import ChoraleError
from chorale.encoding import N_VOICES, STEPS_PER_BAR, Vocabulary
from chorale.model.plan import SIZES as PLAN_SIZES

BACKBONES = ("wavenet", "conv-gru", "gru", "lstm", "reference")

# Every option's default, the one place they live (train's defaults pick among them).
DEFAULTS = {
    "wavenet": dict(filters=64, dilations=(1, 2, 4, 8, 16, 32) * 2, kernel_size=2, residual=True, gated=False,
                    dropout=0.0),
    "conv-gru": dict(filters=64, kernel_size=4, strides=1, units=128, layers=1, dropout=0.0),
    "gru": dict(units=128, layers=2, dropout=0.0),
    "lstm": dict(units=128, layers=2, dropout=0.0),
    "reference": {},
}


@keras.saving.register_keras_serializable(package="chorale")
class ResidualBlock(layers.Layer):
    """x + 1x1conv(act(dilated causal conv(x))): one WaveNet layer. `gated` uses
    tanh(a) * sigmoid(b) (the WaveNet gate) instead of relu."""

    def __init__(self, filters, dilation, kernel_size=2, gated=False, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.dilation, self.kernel_size = filters, dilation, kernel_size
        self.gated, self.dropout_rate = gated, dropout
        self.conv = layers.Conv1D(filters * (2 if gated else 1), kernel_size, padding="causal",
                                  dilation_rate=dilation, activation=None if gated else "relu", name="conv")
        self.mix = layers.Conv1D(filters, 1, name="mix")
        self.dropout = layers.Dropout(dropout)

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.mix.build(tuple(input_shape[:-1]) + (self.filters,))

    def call(self, x, training=None):
        h = self.conv(x)
        if self.gated:
            a, b = ops.split(h, 2, axis=-1)
            h = ops.tanh(a) * ops.sigmoid(b)
        return x + self.dropout(self.mix(h), training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "dilation": self.dilation,
                "kernel_size": self.kernel_size, "gated": self.gated, "dropout": self.dropout_rate}


@keras.saving.register_keras_serializable(package="chorale")
class ChoraleEmbedding(layers.Layer):
    """Token embedding plus learned embeddings of the voice (t % 4) and the step in the
    bar ((t // 4) % 16), both computed from the token's index in the sequence, plus, with
    `plan_sizes`, one embedding per plan column (chorale.model.plan) read from a second
    input. Training windows start every 16 chords, so the window index gives the same bar
    position as the chorale's own step index."""

    def __init__(self, vocab_size, dim, plan_sizes=(), **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.dim, self.plan_sizes = vocab_size, dim, tuple(plan_sizes)
        self.tokens = layers.Embedding(vocab_size, dim, name="tokens")
        self.voices = layers.Embedding(N_VOICES, dim, name="voices")
        self.steps = layers.Embedding(STEPS_PER_BAR, dim, name="steps")
        # zeros: the plan starts as "no effect" (and draws no random numbers, so the rest of
        # the model starts exactly as a model without a plan does)
        self.plan_tables = [layers.Embedding(n, dim, embeddings_initializer="zeros", name=f"plan{i}")
                            for i, n in enumerate(self.plan_sizes)]

    def build(self, input_shape):
        shape = input_shape[0] if self.plan_sizes else input_shape
        for e in (self.tokens, self.voices, self.steps, *self.plan_tables):
            e.build(shape)

    def call(self, inputs):
        tokens, plan = inputs if self.plan_sizes else (inputs, None)
        t = ops.arange(ops.shape(tokens)[1])
        position = self.voices(t % N_VOICES) + self.steps((t // N_VOICES) % STEPS_PER_BAR)
        x = self.tokens(tokens) + position[None]
        for i, table in enumerate(self.plan_tables):  # id 0, unknown, adds nothing: no plan = no input
            ids = plan[..., i]
            x = x + table(ids) * ops.expand_dims(ops.cast(ids > 0, x.dtype), -1)
        return x

    def compute_output_shape(self, input_shape):
        shape = input_shape[0] if self.plan_sizes else input_shape
        return tuple(shape) + (self.dim,)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "dim": self.dim,
                "plan_sizes": list(self.plan_sizes)}


def _options(arch: str, options: dict) -> dict:
    if arch not in BACKBONES:
        raise ChoraleError(f"unknown architecture '{arch}' (choose from: {', '.join(BACKBONES)})")
    unknown = sorted(set(options) - set(DEFAULTS[arch]))
    if unknown:
        allowed = ", ".join(DEFAULTS[arch]) or "none"
        raise ChoraleError(f"unknown option(s) {', '.join(unknown)} for '{arch}' (allowed: {allowed})")
    return {**DEFAULTS[arch], **options}


def _recurrent(cell, units, n_layers, dropout):
    out = []
    for i in range(n_layers):
        if i and dropout:
            out.append(layers.Dropout(dropout))
        out.append(cell(units, return_sequences=True))
    return out


def build_backbone(arch: str, **options) -> keras.Sequential:
    """A causal (batch, time, features) -> (batch, time, channels) stack; see DEFAULTS."""
    o = _options(arch, options)
    try:
        return keras.Sequential(_stack(arch, o), name=f"{arch.replace('-', '_')}_backbone")
    except (ValueError, TypeError) as e:
        raise ChoraleError(f"bad option value for '{arch}': {str(e).splitlines()[0]}") from None


def _stack(arch: str, o: dict) -> list:
    if arch == "wavenet":
        if o["residual"]:  # project to the residual width, then residual (gated) blocks
            stack = [layers.Conv1D(o["filters"], 1)]
            stack += [ResidualBlock(o["filters"], d, o["kernel_size"], o["gated"], o["dropout"])
                      for d in o["dilations"]]
            stack.append(layers.Activation("relu"))
        else:
            stack = [layers.Conv1D(o["filters"], o["kernel_size"], padding="causal", dilation_rate=d,
                                   activation="relu") for d in o["dilations"]]
            if o["dropout"]:
                stack.append(layers.Dropout(o["dropout"]))
    elif arch == "conv-gru":
        stack = [layers.Conv1D(o["filters"], o["kernel_size"], strides=o["strides"], padding="causal",
                               activation="relu")]
        if o["dropout"]:
            stack.append(layers.Dropout(o["dropout"]))
        stack += _recurrent(layers.GRU, o["units"], o["layers"], o["dropout"])
    elif arch in ("gru", "lstm"):
        cell = layers.GRU if arch == "gru" else layers.LSTM
        stack = _recurrent(cell, o["units"], o["layers"], o["dropout"])
    else:  # reference: the book's exercise model (Hands-On ML, ch. 15, ex. 10)
        stack = []
        for filters, dilation in ((32, 1), (48, 2), (64, 4), (96, 8)):
            stack += [layers.Conv1D(filters, 2, padding="causal", activation="relu", dilation_rate=dilation),
                      layers.BatchNormalization()]
        stack.append(layers.LSTM(256, return_sequences=True))
    return stack


def build_chorale_model(arch: str, vocab: Vocabulary, embed_dim: int = 32, plan: bool = False,
                        **options) -> keras.Model:
    """Token ids (batch, time) -> logits (batch, time, vocab.size) for the next token.

    With `plan`, a second input `plan` (batch, time, len(plan.COLUMNS)) of plan ids
    (chorale.model.plan.plan_rows) is embedded and added to the token embedding.
    `reference` is the book's model exactly: Embedding(vocab, 5), no position embeddings.
    """
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    if arch == "reference":
        if plan:
            raise ChoraleError("the reference model takes no plan")
        inputs, x = tokens, layers.Embedding(vocab.size, 5, name="embedding")(tokens)
    elif plan:
        rows = keras.Input((None, len(PLAN_SIZES)), dtype="int32", name="plan")
        inputs = [tokens, rows]
        x = ChoraleEmbedding(vocab.size, embed_dim, PLAN_SIZES, name="embedding")(inputs)
    else:
        inputs, x = tokens, ChoraleEmbedding(vocab.size, embed_dim, name="embedding")(tokens)
    x = build_backbone(arch, **options)(x)
    logits = layers.Dense(vocab.size, name="logits")(x)
    return keras.Model(inputs, logits, name=f"chorale_{arch.replace('-', '_')}")
