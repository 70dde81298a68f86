"""The shared sequence core: causal backbones and the chorale head.

A backbone maps (batch, time, features) -> (batch, time, channels) and never looks
ahead: output t depends on inputs <= t only. The chorale model adds a token embedding
(plus voice and position-in-bar embeddings) in front and a Dense layer giving logits
over the vocabulary, so output t predicts token t + 1. Everything is plain Keras layers
(causal Conv1D, GRU, LSTM, Dense, Embedding; relative attention: chorale.model.attention)
so a sampler can later step the weights one token at a time (Fast WaveNet queues,
carried recurrent state, a key/value cache).

Everything the model is told in advance enters at the embedding, one path for all of it:
the plan (key, fermatas, end: chorale.model.plan) and, with look-ahead, the known cells
read both ways by `LookAhead`, a non-causal encoder that runs once per piece (WaveNet's
local conditioning). The decoder stays causal.
"""

from __future__ import annotations

from chorale.backend import keras

layers, ops = keras.layers, keras.ops

from chorale import ChoraleError
from chorale.encoding import N_VOICES, STEPS_PER_BAR, Vocabulary
from chorale.model.plan import SIZES as PLAN_SIZES

from chorale.registry import BACKBONES, resolve


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
class LookAhead(layers.Layer):
    """The known cells read both ways: (batch, time) known ids (chorale.model.masks.known_ids:
    0 unknown, token + 1 known) -> (batch, time, dim), row t describing the cell of token
    t + 1, the one being predicted at t (the last row, past the end, is zero).

    Residual dilated convolutions that look both ways ("same" padding), over a cell
    embedding plus voice and step-in-bar embeddings: with LOOK_AHEAD's kernel 3 and
    dilations up to 32 tokens each row sees 63 tokens (about a bar) either side. An unknown cell's value never
    enters: its id is 0 whatever its note."""

    def __init__(self, vocab_size, dim, filters, dilations, kernel_size, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.dim, self.filters = vocab_size, dim, filters
        self.dilations, self.kernel_size = tuple(dilations), kernel_size
        self.cells = layers.Embedding(vocab_size + 1, filters, name="cells")
        self.voices = layers.Embedding(N_VOICES, filters, name="voices")
        self.steps = layers.Embedding(STEPS_PER_BAR, filters, name="steps")
        self.convs = [layers.Conv1D(filters, kernel_size, padding="same", dilation_rate=d, activation="relu",
                                    name=f"conv{i}") for i, d in enumerate(self.dilations)]
        # zeros: the encoder starts adding nothing, so the decoder first trains as it would alone
        # (a random start added a large position-dependent input: 0.013 nats worse test NLL after 12 epochs)
        self.out = layers.Dense(dim, kernel_initializer="zeros", name="out")

    def build(self, input_shape):
        for e in (self.cells, self.voices, self.steps):
            e.build(input_shape)
        for conv in self.convs:
            conv.build(tuple(input_shape) + (self.filters,))
        self.out.build(tuple(input_shape) + (self.filters,))

    def call(self, known):
        t = ops.arange(ops.shape(known)[1])
        x = self.cells(known) + (self.voices(t % N_VOICES) + self.steps((t // N_VOICES) % STEPS_PER_BAR))[None]
        for conv in self.convs:
            x = x + conv(x)
        return ops.pad(self.out(x)[:, 1:], ((0, 0), (0, 1), (0, 0)))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.dim,)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "dim": self.dim, "filters": self.filters,
                "dilations": list(self.dilations), "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package="chorale")
class ChoraleEmbedding(layers.Layer):
    """Token embedding plus learned embeddings of the voice (t % 4) and the step in the
    bar ((t // 4) % 16), both computed from the token's index in the sequence, plus, with
    `plan_sizes`, one embedding per plan column (chorale.model.plan) read from the next
    input, plus, with `look_ahead` (LookAhead's options), the encoding of the known cells
    read from the last input. Training windows start every 16 chords, so the window index
    gives the same bar position as the chorale's own step index."""

    def __init__(self, vocab_size, dim, plan_sizes=(), look_ahead=None, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.dim, self.plan_sizes = vocab_size, dim, tuple(plan_sizes)
        self.look_ahead = dict(look_ahead) if look_ahead is not None else None
        self.tokens = layers.Embedding(vocab_size, dim, name="tokens")
        self.voices = layers.Embedding(N_VOICES, dim, name="voices")
        self.steps = layers.Embedding(STEPS_PER_BAR, dim, name="steps")
        # zeros: the plan starts as "no effect" (and draws no random numbers, so the rest of
        # the model starts exactly as a model without a plan does)
        self.plan_tables = [layers.Embedding(n, dim, embeddings_initializer="zeros", name=f"plan{i}")
                            for i, n in enumerate(self.plan_sizes)]
        self.encoder = (LookAhead(vocab_size, dim, **self.look_ahead, name="look_ahead")
                        if look_ahead is not None else None)

    def _split(self, inputs):
        """(tokens, plan or None, known or None) from the layer's one input or list of inputs."""
        if not self.plan_sizes and self.encoder is None:
            return inputs, None, None
        inputs = list(inputs)
        return inputs[0], inputs[1] if self.plan_sizes else None, inputs[-1] if self.encoder else None

    def build(self, input_shape):
        shape = self._split(input_shape)[0]
        for e in (self.tokens, self.voices, self.steps, *self.plan_tables):
            e.build(shape)
        if self.encoder is not None:
            self.encoder.build(shape)

    def call(self, inputs):
        tokens, plan, known = self._split(inputs)
        t = ops.arange(ops.shape(tokens)[1])
        position = self.voices(t % N_VOICES) + self.steps((t // N_VOICES) % STEPS_PER_BAR)
        x = self.tokens(tokens) + position[None]
        for i, table in enumerate(self.plan_tables):  # id 0, unknown, adds nothing: no plan = no input
            ids = plan[..., i]
            x = x + table(ids) * ops.expand_dims(ops.cast(ids > 0, x.dtype), -1)
        if self.encoder is not None:
            x = x + self.encoder(known)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(self._split(input_shape)[0]) + (self.dim,)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "dim": self.dim,
                "plan_sizes": list(self.plan_sizes), "look_ahead": self.look_ahead}


def backbone_options(arch: str, options: dict) -> dict:
    """The backbone's options: its registry defaults updated with `options`, checked by name."""
    if arch not in BACKBONES:
        raise ChoraleError(f"unknown architecture '{arch}' (choose from: {', '.join(BACKBONES)})")
    defaults = BACKBONES[arch].options
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        allowed = ", ".join(defaults) or "none"
        raise ChoraleError(f"unknown option(s) {', '.join(unknown)} for '{arch}' (allowed: {allowed})")
    return {**defaults, **options}


def build_backbone(arch: str, **options) -> keras.Sequential:
    """A causal (batch, time, features) -> (batch, time, channels) stack, built by the
    registry entry's builder (chorale.registry.BACKBONES) from its options."""
    o = backbone_options(arch, options)
    try:
        return keras.Sequential(resolve(BACKBONES[arch].build)(o), name=f"{arch.replace('-', '_')}_backbone")
    except (ValueError, TypeError) as e:
        raise ChoraleError(f"bad option value for '{arch}': {str(e).splitlines()[0]}") from None


# ---------------------------------------------------------------------------- builders (chorale.registry)
def wavenet(o: dict) -> list:
    """A 1x1 projection to the residual width, residual (gated) blocks, ReLU; or, without
    `residual`, a plain stack of dilated causal convolutions."""
    if not o["residual"]:
        stack = [layers.Conv1D(o["filters"], o["kernel_size"], padding="causal", dilation_rate=d, activation="relu")
                 for d in o["dilations"]]
        return stack + ([layers.Dropout(o["dropout"])] if o["dropout"] else [])
    stack = [layers.Conv1D(o["filters"], 1)]
    stack += [ResidualBlock(o["filters"], d, o["kernel_size"], o["gated"], o["dropout"]) for d in o["dilations"]]
    return stack + [layers.Activation("relu")]


def conv_gru(o: dict) -> list:
    stack = [layers.Conv1D(o["filters"], o["kernel_size"], strides=o["strides"], padding="causal", activation="relu")]
    if o["dropout"]:
        stack.append(layers.Dropout(o["dropout"]))
    return stack + _recurrent(layers.GRU, o["units"], o["layers"], o["dropout"])


def gru(o: dict) -> list:
    return _recurrent(layers.GRU, o["units"], o["layers"], o["dropout"])


def lstm(o: dict) -> list:
    return _recurrent(layers.LSTM, o["units"], o["layers"], o["dropout"])


def reference(o: dict) -> list:
    """The book's exercise model (Hands-On ML, ch. 15, ex. 10): four dilated causal
    convolutions with batch normalization, then an LSTM."""
    stack = []
    for filters, dilation in ((32, 1), (48, 2), (64, 4), (96, 8)):
        stack += [layers.Conv1D(filters, 2, padding="causal", activation="relu", dilation_rate=dilation),
                  layers.BatchNormalization()]
    return stack + [layers.LSTM(256, return_sequences=True)]


def _recurrent(cell, units, n_layers, dropout):
    out = []
    for i in range(n_layers):
        if i and dropout:
            out.append(layers.Dropout(dropout))
        out.append(cell(units, return_sequences=True))
    return out


LOOK_AHEAD = dict(filters=32, dilations=(1, 2, 4, 8, 16, 32), kernel_size=3)  # LookAhead's default options


def build_chorale_model(arch: str, vocab: Vocabulary, embed_dim: int = 32, plan: bool = False,
                        look_ahead: bool | dict = False, **options) -> keras.Model:
    """Token ids (batch, time) -> logits (batch, time, vocab.size) for the next token.

    With `plan`, an input `plan` (batch, time, len(plan.COLUMNS)) of plan ids
    (chorale.model.plan.plan_rows) is embedded and added to the token embedding. With
    `look_ahead` (True, or LookAhead options), an input `known` (batch, time) of known
    cells (chorale.model.masks.known_ids) is read both ways and added there too.
    `reference` is the book's model exactly: Embedding(vocab, 5), no position embeddings.
    """
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    if arch == "reference":
        if plan or look_ahead:
            raise ChoraleError("the reference model takes no plan and no look-ahead")
        inputs, x = tokens, layers.Embedding(vocab.size, 5, name="embedding")(tokens)
    else:
        inputs = [tokens]
        if plan:
            inputs.append(keras.Input((None, len(PLAN_SIZES)), dtype="int32", name="plan"))
        encoder = None
        if look_ahead:
            encoder = {**LOOK_AHEAD, **(look_ahead if isinstance(look_ahead, dict) else {})}
            inputs.append(keras.Input((None,), dtype="int32", name="known"))
        if len(inputs) == 1:
            inputs = tokens
        x = ChoraleEmbedding(vocab.size, embed_dim, PLAN_SIZES if plan else (), encoder, name="embedding")(inputs)
    x = build_backbone(arch, **options)(x)
    logits = layers.Dense(vocab.size, name="logits")(x)
    return keras.Model(inputs, logits, name=f"chorale_{arch.replace('-', '_')}")
