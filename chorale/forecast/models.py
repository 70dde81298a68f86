"""Time-series forecasting with the project's sequence models (Hands-On ML, ch. 15).

Every model here reads a window of W values and forecasts the next H. The data is
always a set of windows `S` of shape (n, W + H): inputs `S[:, :W]`, targets `S[:, W:]`.
Sequence-to-sequence models also learn, at every input step t, the H values after t
(`seq2seq_targets`); they are scored, like every other model, on the forecast made at
the last input step. The recurrent and convolutional models (LSTM, GRU, Conv1D+GRU,
WaveNet) are the chorale models' backbones (`chorale.model.networks.build_backbone`) with a
forecasting head; the SimpleRNN models and the layer-normalized cell are the chapter's.

`chorale forecast synthetic` runs the chapter's experiments (this module);
`chorale forecast csv` forecasts a user's series (`chorale.forecast.series`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from chorale import ChoraleError
from chorale.backend import keras
from chorale.forecast.names import AHEAD_MODELS, MODELS, NEXT_MODELS

N_STEPS = 50
HORIZONS = {"next": 1, "ahead": 10}
SEQUENCE_MODELS = ("seq2seq", "ln-rnn", "lstm", "gru", "conv-gru", "wavenet")
# The chapter's MSE figures (reference.md); the ahead models without a number did best.
CHAPTER = {"next": {"naive": 0.020, "linear": 0.004, "rnn": 0.014, "deep-rnn": 0.003},
           "ahead": {"iterative": 0.029, "naive": 0.223, "linear": 0.0188,
                     "seq2vec": 0.008, "seq2seq": 0.006}}
UNITS = 20  # the chapter's layer width
# Adam's learning rate: the chapter's 0.001, except 0.01 for the sequence-to-sequence
# models (the chapter uses it for its seq2seq RNN; measured here, it also halves or
# better the test MSE of the others in 20 epochs: docs/forecast.md).
LEARNING_RATES = {name: 0.01 for name in SEQUENCE_MODELS}


# ------------------------------------------------------------------------------ data
def generate_series(n_series: int, n_steps: int, seed=None) -> np.ndarray:
    """The chapter's series, shape (n_series, n_steps): two sines with random
    frequencies and offsets (amplitudes 0.5 and 0.2) plus uniform noise (amplitude 0.1)."""
    rng = np.random.default_rng(seed)
    freq1, freq2, offset1, offset2 = rng.random((4, n_series, 1))
    t = np.linspace(0, 1, n_steps)
    series = 0.5 * np.sin((t - offset1) * (freq1 * 10 + 10))
    series += 0.2 * np.sin((t - offset2) * (freq2 * 20 + 20))
    series += 0.1 * (rng.random((n_series, n_steps)) - 0.5)
    return series.astype(np.float32)


def split_sizes(n: int) -> tuple[int, int, int]:
    """The chapter's 70/20/10 split (7,000/2,000/1,000 of 10,000)."""
    n_train, n_valid = round(0.7 * n), round(0.2 * n)
    return n_train, n_valid, n - n_train - n_valid


def synthetic_splits(task: str, n_series: int = 10_000, seed=None) -> dict:
    """{"train"|"valid"|"test": windows (n, 50 + H)} for the task "next" or "ahead"."""
    if n_series < 10:
        raise ChoraleError(f"--n-series must be at least 10 (got {n_series})")
    series = generate_series(n_series, N_STEPS + HORIZONS[task], seed)
    a, b, _ = split_sizes(n_series)
    return {"train": series[:a], "valid": series[a:a + b], "test": series[a + b:]}


def seq2seq_targets(S: np.ndarray, window: int, positions=None) -> np.ndarray:
    """Targets (n, len(positions), H) with Y[:, j, k] = S[:, positions[j] + 1 + k]: for an
    output that has seen inputs up to step t, the H values after t (never t itself or
    anything before it). positions default to every step 0..window-1; -1 means an output
    that has seen only padding."""
    horizon = S.shape[1] - window
    positions = np.arange(window) if positions is None else np.asarray(positions)
    views = np.lib.stride_tricks.sliding_window_view(S, horizon, axis=1)
    return np.ascontiguousarray(views[:, positions + 1])


def naive_forecast(S_or_X: np.ndarray, horizon: int) -> np.ndarray:
    """The last input value, repeated: X is (n, W) or (n, W, 1)."""
    last = S_or_X.reshape(len(S_or_X), -1)[:, -1:]
    return np.repeat(last, horizon, axis=1)


# ---------------------------------------------------------------------------- models
@keras.saving.register_keras_serializable(package="chorale")
class LNSimpleRNNCell(keras.layers.Layer):
    """The chapter's SimpleRNN cell with layer normalization before the activation."""

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(**kwargs)
        self.units, self.state_size, self.output_size = units, units, units
        self.cell = keras.layers.SimpleRNNCell(units, activation=None)
        self.norm = keras.layers.LayerNormalization()
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.cell.build(input_shape)
        self.norm.build((input_shape[0], self.units))
        self.built = True

    def call(self, inputs, states, training=None):
        outputs, _ = self.cell(inputs, states, training=training)
        outputs = self.activation(self.norm(outputs))
        return outputs, [outputs]

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": keras.activations.serialize(self.activation)}


def _backbone(arch: str, dropout: float):
    """The chorale models' backbone, sized as in the chapter (20 units/filters)."""
    from chorale.model.networks import build_backbone

    options = {
        "lstm": dict(units=UNITS, layers=2), "gru": dict(units=UNITS, layers=2),
        "conv-gru": dict(filters=UNITS, kernel_size=4, strides=2, units=UNITS, layers=2),
        "wavenet": dict(filters=UNITS, dilations=(1, 2, 4, 8) * 2, kernel_size=2,
                        residual=False, gated=False),
    }[arch]
    return build_backbone(arch, dropout=dropout, **options)


def build_model(name: str, window: int, horizon: int, dropout: float = 0.0):
    """The Keras model for `name` (None for naive). Outputs: (batch, H) for vector
    models, (batch, 1) for iterative, (batch, time', H) for sequence models."""
    L = keras.layers
    drop = [L.Dropout(dropout)] if dropout else []
    seq = dict(return_sequences=True)
    head = {
        "naive": None,
        "linear": lambda: [L.Flatten(), *drop, L.Dense(horizon)],
        "rnn": lambda: [*drop, L.SimpleRNN(horizon)],
        "deep-rnn": lambda: [L.SimpleRNN(UNITS, **seq), *drop, L.SimpleRNN(UNITS, **seq),
                             *drop, L.SimpleRNN(horizon)],
        "deep-rnn-dense": lambda: [L.SimpleRNN(UNITS, **seq), *drop, L.SimpleRNN(UNITS),
                                   *drop, L.Dense(horizon)],
        "iterative": lambda: [L.SimpleRNN(UNITS, **seq), *drop, L.SimpleRNN(UNITS), *drop,
                              L.Dense(1)],
        "seq2seq": lambda: [L.SimpleRNN(UNITS, **seq), *drop, L.SimpleRNN(UNITS, **seq),
                            *drop, L.Dense(horizon)],
        "ln-rnn": lambda: [L.RNN(LNSimpleRNNCell(UNITS), **seq), *drop,
                           L.RNN(LNSimpleRNNCell(UNITS), **seq), *drop, L.Dense(horizon)],
    }
    head["seq2vec"] = head["deep-rnn-dense"]
    if name in ("lstm", "gru", "conv-gru", "wavenet"):
        # A causal Conv1D with stride 2 sees inputs 0, 2, 4, ...: left-pad an even-length
        # window by one step so the last output sees the last input.
        pad = [L.ZeroPadding1D((1, 0))] if name == "conv-gru" and window % 2 == 0 else []
        head[name] = lambda: [*pad, _backbone(name, dropout), L.Dense(horizon)]
    if name not in head:
        raise ChoraleError(f"unknown model {name!r} (choose from {', '.join(MODELS)})")
    if head[name] is None:
        return None
    return keras.Sequential([keras.Input((window, 1)), *head[name]()], name=name)


def output_positions(model, window: int) -> np.ndarray:
    """For a sequence model, the last input step each output step has seen, found by
    perturbing one input step at a time (so a strided Conv1D needs no bookkeeping).
    Raises unless the last output sees the last input and each output sees further."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=(1, window, 1)).astype(np.float32)
    batch = np.repeat(base, window + 1, axis=0)
    batch[np.arange(1, window + 1), np.arange(window), 0] += 1.0
    out = keras.ops.convert_to_numpy(model(batch, training=False))
    change = np.abs(out[1:] - out[:1]).max(axis=2)  # (input step, output step)
    changed = change > 1e-4 * max(change.max(), 1e-3)  # above float32 rounding noise
    positions = np.array([np.flatnonzero(col).max(initial=-1) for col in changed.T])
    if positions[-1] != window - 1 or np.any(np.diff(positions) <= 0):
        raise ChoraleError(f"{model.name}: output steps are not causal and aligned "
                           f"(last input seen per output: {positions.tolist()})")
    return positions


@dataclass
class Forecaster:
    """A trained model (or the naive baseline) that forecasts H steps from windows."""

    name: str
    window: int
    horizon: int
    model: object = None
    positions: np.ndarray | None = None  # sequence models: see output_positions
    seconds: float = 0.0
    history: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        if self.model is None:
            return "naive"
        if self.name == "iterative":
            return "iterative"
        return "sequence" if self.name in SEQUENCE_MODELS else "vector"

    @property
    def parameters(self) -> int:
        return 0 if self.model is None else int(self.model.count_params())

    def targets(self, S: np.ndarray) -> np.ndarray:
        """Training targets for windows S (n, W + H)."""
        if self.kind == "sequence":
            return seq2seq_targets(S, self.window, self.positions)
        return S[:, self.window:self.window + (1 if self.kind == "iterative" else self.horizon)]

    def predict(self, S_or_X: np.ndarray, samples: int = 0, chunk: int = 4096):
        """Forecasts (n, H) from the first W values of each row. With samples > 0:
        Monte Carlo dropout, returns (mean, std) over that many stochastic passes."""
        X = np.asarray(S_or_X, np.float32).reshape(len(S_or_X), -1)[:, :self.window]
        if self.model is None:
            f = naive_forecast(X, self.horizon)
            return (f, np.zeros_like(f)) if samples else f
        n = len(X)
        X = np.tile(X, (samples, 1))[..., None] if samples else X[..., None]
        if self.kind == "iterative":
            steps = []
            for _ in range(self.horizon):
                y = _call(self.model, X, bool(samples), chunk).reshape(-1, 1)
                steps.append(y)
                X = np.concatenate([X[:, 1:], y[..., None]], axis=1)
            f = np.concatenate(steps, axis=1)
        else:
            f = _call(self.model, X, bool(samples), chunk)
            f = f[:, -1] if self.kind == "sequence" else f
        if not samples:
            return f
        f = f.reshape(samples, n, self.horizon)
        return f.mean(axis=0), f.std(axis=0)


def _call(model, X: np.ndarray, dropout: bool, chunk: int) -> np.ndarray:
    """model(X) in chunks, eagerly: for these short windows a direct call costs far less
    than tracing a predict function. dropout=True keeps dropout on (MC dropout); batch
    normalization still uses its moving statistics (a frozen BN layer runs in inference
    mode even when called with training=True, in Keras 3)."""
    frozen = []
    if dropout:
        for layer in model._flatten_layers():
            if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable:
                layer.trainable = False
                frozen.append(layer)
    try:
        return np.concatenate([keras.ops.convert_to_numpy(model(X[i:i + chunk], training=dropout))
                               for i in range(0, len(X), chunk)])
    finally:
        for layer in frozen:
            layer.trainable = True


def train(name: str, train_S: np.ndarray, valid_S: np.ndarray, window: int,
          horizon: int, epochs: int = 20, dropout: float = 0.0, batch_size: int = 32,
          patience: int | None = None, verbose: int = 0) -> Forecaster:
    """Build and fit one model on windows (n, W + H) with Adam and MSE (no fitting
    for naive). With `patience`, stop early on the validation loss and keep the best;
    without, train for `epochs` (the chapter's protocol) and ignore valid_S."""
    f = Forecaster(name, window, horizon, build_model(name, window, horizon, dropout))
    if f.model is None:
        return f
    if f.kind == "sequence":
        f.positions = output_positions(f.model, window)
    x = lambda S: np.asarray(S[:, :window, None], np.float32)  # noqa: E731
    # Tracing a training step costs seconds, compiling it with XLA more, and XLA makes
    # recurrent layers several times faster on a CPU: run a handful of steps eagerly,
    # a long run with XLA.
    steps = -(-len(train_S) // batch_size) * epochs
    f.model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATES.get(name, 1e-3)),
                    loss="mse", run_eagerly=steps <= 4,
                    jit_compile=steps >= 600)
    callbacks, validation = [], None
    if patience:  # validation is scored afterwards on the forecasts; here only to stop
        callbacks.append(keras.callbacks.EarlyStopping(
            patience=patience, restore_best_weights=True))
        validation = (x(valid_S), f.targets(valid_S))
    start = time.perf_counter()
    hist = f.model.fit(x(train_S), f.targets(train_S), epochs=epochs, batch_size=batch_size,
                       validation_data=validation, callbacks=callbacks, verbose=verbose)
    f.seconds, f.history = time.perf_counter() - start, hist.history
    return f


def mse(forecast: np.ndarray, S: np.ndarray) -> float:
    return float(np.mean((forecast - S[:, -forecast.shape[1]:]) ** 2))


# ------------------------------------------------------------------ the experiments
def run_synthetic(task: str = "next", models=None, epochs: int = 20, seed: int = 42,
                  n_series: int = 10_000, uncertainty: int = 0, dropout: float = 0.0,
                  examples: int = 3, progress=None) -> dict:
    """Train and score each model on the chapter's series; returns a JSON-ready dict.
    `progress(name)` is called before each model."""
    if task not in HORIZONS:
        raise ChoraleError(f"unknown task {task!r} (choose next or ahead)")
    models = list(models or (NEXT_MODELS if task == "next" else AHEAD_MODELS))
    horizon, data = HORIZONS[task], synthetic_splits(task, n_series, seed)
    shown = data["test"][:examples]
    result = {"task": task, "horizon": horizon, "window": N_STEPS, "epochs": epochs,
              "seed": seed, "n_series": n_series, "dropout": dropout,
              "split": [len(data[k]) for k in ("train", "valid", "test")],
              "uncertainty": uncertainty, "models": [],
              "examples": {"series": shown.tolist(), "forecasts": {}}}
    for name in models:
        if progress:
            progress(name)
        keras.utils.set_random_seed(seed)
        f = train(name, data["train"], data["valid"], N_STEPS, horizon, epochs, dropout)
        valid, test = np.split(f.predict(np.concatenate([data["valid"], data["test"]])),
                               [len(data["valid"])])
        row = {"model": name, "parameters": f.parameters,
               "valid_mse": mse(valid, data["valid"]), "test_mse": mse(test, data["test"]),
               "seconds": round(f.seconds, 2), "chapter_mse": CHAPTER[task].get(name)}
        example = {"mean": test[:examples].tolist()}
        if uncertainty:
            mean, std = f.predict(data["test"], samples=uncertainty)
            row["mc_test_mse"] = mse(mean, data["test"])
            row["mc_mean_std"] = float(std.mean())
            mean, std = mean[:examples], std[:examples]
            example = {"mean": mean.tolist(), "low": (mean - 2 * std).tolist(),
                       "high": (mean + 2 * std).tolist()}
        result["models"].append(row)
        result["examples"]["forecasts"][name] = example
    return result


def format_table(result: dict) -> str:
    """The results as a text table, with the chapter's figure where it gives one."""
    mc = bool(result.get("uncertainty"))
    lines = [f"{'model':<16}{'params':>8}{'valid MSE':>11}{'test MSE':>10}{'chapter':>9}"
             + (f"{'MC MSE':>9}{'MC std':>8}" if mc else "") + f"{'seconds':>9}"]
    for r in result["models"]:
        ch = f"{r['chapter_mse']:.4f}" if r.get("chapter_mse") is not None else "-"
        lines.append(f"{r['model']:<16}{r['parameters']:>8}{r['valid_mse']:>11.4f}"
                     f"{r['test_mse']:>10.4f}{ch:>9}"
                     + (f"{r['mc_test_mse']:>9.4f}{r['mc_mean_std']:>8.4f}" if mc else "")
                     + f"{r['seconds']:>9.1f}")
    return "\n".join(lines)


def plot_synthetic(result: dict, path) -> None:
    """A grid: one row per model, one column per example test series."""
    from matplotlib.figure import Figure

    from chorale.io.files import atomic_path

    series = np.array(result["examples"]["series"])
    forecasts, w = result["examples"]["forecasts"], result["window"]
    rows, cols = len(forecasts), len(series)
    fig = Figure(figsize=(4 * cols, 1.9 * rows + 0.6))  # not pyplot's: a notebook's backend is left alone
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
    t_in, t_out = np.arange(w), np.arange(w, series.shape[1])
    scores = {r["model"]: r["test_mse"] for r in result["models"]}
    for i, (name, fc) in enumerate(forecasts.items()):
        for j in range(cols):
            ax = axes[i, j]
            ax.plot(t_in, series[j, :w], ".-", color="0.3", lw=1, ms=3)
            ax.plot(t_out, series[j, w:], "o", color="tab:blue", ms=4, label="actual")
            ax.plot(t_out, fc["mean"][j], "x-", color="tab:red", ms=5, label="forecast")
            if "low" in fc:
                ax.fill_between(t_out, fc["low"][j], fc["high"][j], color="tab:red",
                                alpha=0.2, label="±2 std")
            ax.grid(alpha=0.3)
            if j == 0:
                ax.set_ylabel(f"{name}\nMSE {scores[name]:.4f}", fontsize=9)
    axes[0, -1].legend(loc="upper left", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("time step")
    fig.suptitle(f"Synthetic series, task '{result['task']}': test examples "
                 f"({result['epochs']} epochs)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90)
