"""Train a chorale model (`chorale train`).

The reference protocol: windows of 32+1 chords (132 tokens) every 16 chords, next-token
targets at every position. The transformer instead trains on whole chorales (`whole`):
batches of chorales of similar length, each cut at `window` chords from a random bar when
longer, the padding weighed out of the loss; it is validated on whole chorales
(`WholeValidation`: the exact NLL per token, as `chorale evaluate` scores it).
NumPy arrays in memory, one `fit` call per epoch on a freshly shuffled copy (the order
depends only on seed and epoch, so a resumed run sees the same batches). After every
epoch the run folder gets, in this order: model.keras (only when validation loss
improved: it always holds the best model), checkpoint.keras (the last epoch, with
optimizer state) and history.csv (the commit point a resume reads).
TensorFlow-only code (strategies, op determinism) lives here, not in networks.py.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from chorale import ChoraleError, __version__
from chorale.backend import keras
from chorale.backend import tensorflow as tf
from chorale.data.loader import load
from chorale.encoding import N_VOICES, Vocabulary, voice_ranges
from chorale.io.files import atomic_path, atomic_write, remove_temporaries
from chorale.model import distributed, plan as plans
from chorale.model.distributed import is_chief
from chorale.model.evaluate import score_chorales, whole
from chorale.model.inputs import SHIFT, chorale_plans, encode_all, model_inputs, padded, windows
from chorale.model.masks import known_ids, random_known
from chorale.model.run import check_run_folder, safe_load
from chorale.registry import BACKBONES, DEFAULT_BACKBONE

BAR_TOKENS = 16 * N_VOICES  # cuts start on a bar of the chorale's own count (as windows do)
TRANSPOSE = np.arange(-3, 4)  # augmentation: each epoch moves each window by one of these semitone
# shifts, drawn among those that keep every voice inside its range (see transposed_epoch)
PATIENCE = 3  # epochs without a better validation loss before stopping
RUN_FILES = ("run.json", "history.csv", "checkpoint.keras", "model.keras", "card.json", "training.png",
             "sampler.npz")
HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"]


def transposed_epoch(epoch: int, epochs: int) -> bool:
    """Augmentation covers the first three quarters of the epochs; the last quarter trains on
    the real keys. Transposed windows teach voice leading in every key; the real ones give
    back Bach's choice of keys, without which samples drift into remote keys (docs/models.md)."""
    return epoch < epochs - epochs // 4


def transpositions(x: np.ndarray, vocab: Vocabulary, ranges: np.ndarray) -> np.ndarray:
    """(n, len(TRANSPOSE)) bool: which shifts keep every voice of each token window inside
    its training range `ranges` (4, 2). A silent voice fits any shift; 0 always fits."""
    chords = x.reshape(len(x), -1, N_VOICES)
    sung = chords != 0
    low = np.where(sung, chords, np.iinfo(x.dtype).max).min(axis=1)
    high = np.where(sung, chords, 0).max(axis=1)
    tokens = ranges - vocab.low + 1  # the ranges as tokens (a pitch's token is pitch - low + 1)
    silent = ~sung.any(axis=1)
    return np.stack([np.all(silent | (low + k >= tokens[:, 0]) & (high + k <= tokens[:, 1]), axis=1)
                     for k in TRANSPOSE], axis=1)


def strategy_for(distribute: str | None):
    """None: the default strategy; "mirrored": all local devices, or all workers when
    TF_CONFIG is set."""
    from chorale.backend import tensorflow as tf

    if distribute in (None, "none"):
        return tf.distribute.get_strategy()
    if distribute != "mirrored":
        raise ChoraleError(f"unknown --distribute '{distribute}' (choose from: none, mirrored)")
    if os.environ.get("TF_CONFIG"):
        return distributed.strategy()
    return tf.distribute.MirroredStrategy()


def _compile(model, learning_rate, decay_steps=None, warmup=0, clipnorm=None):
    """Nadam; with `decay_steps`, the learning rate follows a cosine down to 5% over the run,
    after `warmup` steps rising linearly from 0; `clipnorm` clips each gradient's norm.
    The loss is the mean over the tokens that count (sample weights: with look-ahead, the
    unknown cells; with whole chorales, not the padding), every token when there are no weights."""
    if decay_steps and warmup:
        learning_rate = keras.optimizers.schedules.CosineDecay(0.0, max(decay_steps - warmup, 1), alpha=0.05,
                                                               warmup_target=learning_rate, warmup_steps=warmup)
    elif decay_steps:
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps, alpha=0.05)
    model.compile(optimizer=keras.optimizers.Nadam(learning_rate, clipnorm=clipnorm),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight"),
                  weighted_metrics=["accuracy"])


def _fresh_out(out: Path) -> None:
    """Empty (of a previous run's files) or create the run folder."""
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)
    remove_temporaries(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ChoraleError(f"{out}: cannot create the folder ({e.strerror})") from None


def train(out, data=None, arch: str | None = None, epochs=None, batch_size=None, learning_rate=None,
          augment=None, seed=None, options: dict | None = None, resume=False, force=False,
          distribute=None, verbose=None, patience=PATIENCE, plan=None, look_ahead=None, window=None) -> dict | None:
    """Train (or resume) a run in folder `out`; return its card (its seed: card["hyperparameters"]
    ["seed"]). None means the arch's default (or, with resume, the stored value; a different
    explicit value is an error). `plan`: train with plan inputs (chorale.model.plan), each
    part hidden in some windows. `look_ahead`: train the look-ahead encoder on known cells
    (chorale.model.masks), the loss on the unknown ones. `window`: chords per training window.

    On several machines (`distribute="mirrored"` with TF_CONFIG) every worker runs this; only
    the chief writes `out`. The others train in a scratch folder they delete, and return None
    (to resume, they copy the run from `out`, which they must see, e.g. on a shared disk).
    """
    settings = dict(data=data, arch=arch, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                    augment=augment, seed=seed, options=options, force=force, distribute=distribute,
                    verbose=verbose, patience=patience, plan=plan, look_ahead=look_ahead, window=window)
    if distribute == "mirrored" and not is_chief():
        with tempfile.TemporaryDirectory(prefix="chorale-worker-") as scratch:
            if resume:
                check_run_folder(Path(out), resume, force)
                shutil.copytree(out, Path(scratch) / "run")
            _train(Path(scratch) / "run", resume=resume, **settings)
        return None
    return _train(out, resume=resume, **settings)


def _own_randomness(function):
    """Give a training call its own seeds and TensorFlow's op determinism, and hand the
    caller's back after: `chorale.train()` in a notebook leaves Python's and NumPy's random
    state, TensorFlow's global seed and its determinism setting as they were."""
    @functools.wraps(function)
    def scoped(*args, **kwargs):
        import random

        from tensorflow.python.framework import config  # disable_op_determinism is not public

        python_state, numpy_state = random.getstate(), np.random.get_state()
        deterministic = config.is_op_determinism_enabled()
        try:
            return function(*args, **kwargs)
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)
            tf.random.set_seed(None)
            if not deterministic:
                config.disable_op_determinism()
    return scoped


@_own_randomness
def _train(out, data, arch, epochs, batch_size, learning_rate, augment, seed, options, resume, force, distribute,
           verbose, patience, plan, look_ahead, window) -> dict:
    from chorale.model.networks import build_chorale_model

    out = Path(out)
    options = json.loads(json.dumps(options)) if options is not None else None  # as run.json stores it
    asked = dict(arch=arch, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                 augment=augment, seed=seed, options=options, plan=plan, look_ahead=look_ahead, window=window)
    if arch is not None and arch not in BACKBONES:
        raise ChoraleError(f"unknown architecture '{arch}' (choose from: {', '.join(BACKBONES)})")
    dataset = load(data)
    stored = check_run_folder(out, resume, force)
    if stored:
        stored = {"look_ahead": False, "whole": False, "warmup": 0, "clipnorm": None, **stored}  # older runs had none
        if options is not None:  # options given again need only agree with the stored ones
            asked["options"] = {**stored["options"], **options}
        clash = [k for k, v in asked.items() if v is not None and k != "epochs" and v != stored[k]]
        if clash:
            raise ChoraleError(f"{out}: cannot resume with a different {', '.join(clash)} "
                               f"(the run has {', '.join(f'{k}={stored[k]}' for k in clash)})")
        if stored["data_fingerprint"] != dataset.fingerprint():
            raise ChoraleError(f"{out}: cannot resume on different data (fingerprint mismatch)")
        run = {**stored, "epochs": epochs or stored["epochs"]}
    else:
        arch = arch or DEFAULT_BACKBONE
        hp = BACKBONES[arch].recipe
        run = {k: (v if v is not None else hp.get(k)) for k, v in asked.items()}
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % 2**31)
        run.update(arch=arch, schedule=hp["schedule"], whole=hp.get("whole", False), warmup=hp.get("warmup", 0),
                   clipnorm=hp.get("clipnorm"), seed=seed, options={**BACKBONES[arch].options, **(options or {})},
                   data=dataset.source if data is not None else "bundled", data_fingerprint=dataset.fingerprint())
        vocab = Vocabulary.fit([g for split in dataset.splits for g in dataset.grids(split)])  # test too: scored below
        run["vocabulary"] = vocab.to_dict()
        run["voice_ranges"] = voice_ranges(dataset.grids("train")).tolist()
        run = json.loads(json.dumps(run))  # tuples become lists, as run.json stores them
    vocab = Vocabulary.from_dict(run["vocabulary"])

    lengths = validation = None
    if run["whole"]:  # whole chorales, padded; validated whole by WholeValidation
        train_chorales = [c for c in dataset["train"] if len(c.grid) > 1]
        validation = [t for t in encode_all(vocab, dataset["valid"]) if len(t) > N_VOICES]
        if not train_chorales or not validation:
            raise ChoraleError(f"{dataset.source}: train and valid need chorales of at least 2 steps")
        x, lengths = padded([vocab.encode(c.grid) for c in train_chorales])
        p = padded(chorale_plans(train_chorales))[0] if run["plan"] else None
        v = None
    else:
        x = windows([vocab.encode(n) for n in dataset.grids("train")], run["window"])
        p = windows(chorale_plans(dataset["train"]), run["window"]) if run["plan"] else None
        v = windows(encode_all(vocab, dataset["valid"]), run["window"])
        if not len(x) or not len(v):
            raise ChoraleError(f"{dataset.source}: train and valid need chorales of at least {run['window']} steps")
    shifts = transpositions(x, vocab, np.array(run["voice_ranges"])) if run["augment"] else None

    keras.utils.set_random_seed(run["seed"])
    tf.config.experimental.enable_op_determinism()
    strategy = strategy_for(distribute)
    with strategy.scope():
        if stored:
            model = safe_load(out / "checkpoint.keras")
        else:
            model = build_chorale_model(run["arch"], vocab, plan=run["plan"], look_ahead=run["look_ahead"],
                                        **run["options"])
            steps = -(-len(x) // run["batch_size"]) * run["epochs"]
            _compile(model, run["learning_rate"], steps if run["schedule"] == "cosine" else None,
                     min(run["warmup"], steps // 5), run["clipnorm"])
    history = _read_history(out / "history.csv") if stored else []
    if stored:
        remove_temporaries(out)
    else:  # only now, with the data read and the model built, touch the folder
        _fresh_out(out)
        with atomic_write(out / "run.json") as f:
            json.dump(run, f, indent=2)
    if not _stale(history, patience) and len(history) < run["epochs"]:
        whole = strategy.num_replicas_in_sync > 1  # replicas need equal shares: whole batches only
        if whole and v is not None:
            v = v[:len(v) // run["batch_size"] * run["batch_size"]]
            if not len(v):
                raise ChoraleError(f"distributed training needs at least {run['batch_size']} validation windows")
        steps = len(x) // run["batch_size"] if whole else -(-len(x) // run["batch_size"])
        # validation with the plan unknown and nothing known: the unconditional NLL, comparable across models
        callbacks = [Checkpoint(out, history, patience)]
        if validation is not None:  # whole chorales: WholeValidation writes the logs' val_loss before Checkpoint reads it
            callbacks.insert(0, WholeValidation(validation))
        fit = distributed.fit_function(model, strategy)  # model.fit, or a loop Keras's fit cannot run across workers
        fit(batches(x, run["batch_size"], run["seed"], len(history), run["epochs"], steps, shifts, p,
                    run["look_ahead"], lengths, run["window"]),
            steps_per_epoch=steps, epochs=run["epochs"], initial_epoch=len(history),
            validation_data=None if v is None else (model_inputs(model, v[:, :-1]), v[:, 1:]), shuffle=False,
            callbacks=callbacks, verbose=verbose if verbose is not None else (1 if sys.stderr.isatty() else 2))
    elapsed = sum(h["seconds"] for h in history)

    best = min(history, key=lambda h: h["val_loss"])
    card = {
        "architecture": run["arch"], "options": run["options"],
        "parameters": int(model.count_params()),
        "hyperparameters": {k: run[k] for k in ("epochs", "batch_size", "learning_rate", "schedule", "augment", "seed")}
        | {"transposed_epochs": sum(transposed_epoch(e, run["epochs"]) for e in range(run["epochs"]))
           if run["augment"] else 0,
           "window_chords": run["window"], "shift_chords": SHIFT, "patience": patience, "optimizer": "Nadam",
           "distribute": distribute or "none", "workers": distributed.workers(strategy),
           "global_batch": run["batch_size"]}
        | ({"whole_chorales": True, "warmup_steps": run["warmup"], "clipnorm": run["clipnorm"]} if run["whole"] else {}),
        "plan": plans.PLAN_VERSION if run["plan"] else 0,
        "look_ahead": bool(run["look_ahead"]),
        "vocabulary": run["vocabulary"], "voice_ranges": run["voice_ranges"],
        "data": run["data"], "data_fingerprint": run["data_fingerprint"],
        "metrics": {"best_epoch": best["epoch"], "val_loss": best["val_loss"],
                    "val_accuracy": best["val_accuracy"], "train_loss": best["loss"]},
        "epochs_run": len(history),
        "wall_time_s": round(elapsed, 1),
        "seconds_to_best": round(sum(h["seconds"] for h in history[:best["epoch"]]), 1),
        "versions": {"chorale": __version__, "keras": keras.__version__, "tensorflow": tf.__version__,
                     "numpy": np.__version__, "python": platform.python_version()},
    }
    if "test" in dataset.splits:  # reported, never used to choose anything
        card["metrics"]["test"] = score_chorales(safe_load(out / "model.keras"), vocab, dataset["test"], dataset.source, "test")
    _plot(history, out / "training.png")
    (out / "checkpoint.keras").unlink(missing_ok=True)
    with atomic_write(out / "card.json") as f:
        json.dump(card, f, indent=2)
    return card


def batches(x: np.ndarray, batch_size: int, seed: int, start: int, epochs: int, steps: int,
            shifts: np.ndarray | None = None, plan: np.ndarray | None = None, look_ahead: bool = False,
            lengths: np.ndarray | None = None, window: int | None = None):
    """(inputs, targets[, weights]): `steps` batches for each of epochs start..epochs-1. Each epoch's order
    (and, with `shifts` from `transpositions`, each window's transposition, uniformly among
    its allowed shifts, in the epochs `transposed_epoch` picks) is drawn from (seed, epoch)
    alone, so a resumed run trains on exactly the batches it would have. With `plan` rows
    (windows, time, columns) the inputs are (tokens, plan rows): the key moves with the
    transposition, and the plan, or parts of it, is hidden in some windows (plan.hide).
    With `look_ahead` the inputs also hold the known cells of a mask drawn per window
    (masks.random_known), and the weights count only the unknown targets.

    With `lengths` (each padded chorale's tokens), x holds whole chorales: batches group
    chorales of similar length (`buckets`), each longer than `window` chords is cut there from
    a random bar, and the weights leave out the padding."""
    for epoch in range(start, epochs):
        rng = np.random.default_rng([seed, epoch])
        hiding = np.random.default_rng([seed, epoch, 1])  # own streams: the order and shifts stay as they were
        masking = np.random.default_rng([seed, epoch, 2])
        order = rng.permutation(len(x))
        moves = None
        if shifts is not None and transposed_epoch(epoch, epochs):  # one allowed shift per window
            allowed = shifts.cumsum(axis=1)
            pick = (rng.random(len(x)) * allowed[:, -1]).astype(int)
            moves = TRANSPOSE[(allowed > pick[:, None]).argmax(axis=1)]
        groups = ([order[i:i + batch_size] for i in range(0, steps * batch_size, batch_size)] if lengths is None
                  else buckets(lengths, batch_size, steps, rng))
        for index in groups:
            w = x[index] if moves is None else np.where(x[index] != 0, x[index] + moves[index, None], 0)
            rows = None if plan is None else plan[index]
            valid = None
            if lengths is not None:
                w, rows, valid = cut(w, rows, lengths[index], window * N_VOICES, rng)
            if plan is None and not look_ahead and valid is None:
                yield w[:, :-1], w[:, 1:]
                continue
            inputs = {"tokens": w[:, :-1]}
            if plan is not None:
                rows = rows[:, :-1] if moves is None else plans.transpose_rows(rows[:, :-1], moves[index, None])
                inputs["plan"] = plans.hide(rows, hiding)
            weights = None if valid is None else valid[:, 1:].astype(np.float32)
            if look_ahead:
                known = random_known(len(w), w.shape[1] // N_VOICES, masking)
                inputs["known"] = known_ids(w[:, :-1], known[:, :-1])
                unknown = (~known[:, 1:]).astype(np.float32)
                weights = unknown if weights is None else weights * unknown
            if plan is None and not look_ahead:
                inputs = inputs["tokens"]
            yield (inputs, w[:, 1:]) if weights is None else (inputs, w[:, 1:], weights)


def buckets(lengths: np.ndarray, batch_size: int, steps: int, rng: np.random.Generator) -> list[np.ndarray]:
    """`steps` batches of chorale indices, each of similar lengths (little padding): a random
    order, sorted by length within runs of 8 batches, the batches then shuffled. The first two
    differ in length when any do (Keras reads the input shapes from the first two batches)."""
    order = rng.permutation(len(lengths))
    run = 8 * batch_size
    order = np.concatenate([chunk[np.argsort(lengths[chunk], kind="stable")]
                            for chunk in np.split(order, range(run, len(order), run))])
    groups = [order[i:i + batch_size] for i in range(0, steps * batch_size, batch_size)]
    groups = [groups[i] for i in rng.permutation(len(groups))]
    longest = [lengths[g].max() for g in groups]
    other = next((i for i in range(1, len(groups)) if longest[i] != longest[0]), None)
    if other is not None:
        groups[1], groups[other] = groups[other], groups[1]
    return groups


def cut(w: np.ndarray, rows: np.ndarray | None, lengths: np.ndarray, most: int, rng: np.random.Generator):
    """(tokens, plan rows, valid) of a batch of padded chorales: cropped to the longest
    chorale in it and to at most `most` tokens; a chorale longer than that keeps `most` tokens
    from a random bar. valid: which tokens are music, not padding."""
    size = int(min(lengths.max(), most))
    out = np.zeros((len(w), size), w.dtype)
    cut_rows = None if rows is None else np.zeros((len(w), size, rows.shape[-1]), rows.dtype)
    for i, n in enumerate(lengths):
        start = BAR_TOKENS * int(rng.integers(0, (n - most) // BAR_TOKENS + 1)) if n > most else 0
        keep = min(n, most)
        out[i, :keep] = w[i, start:start + keep]
        if rows is not None:
            cut_rows[i, :keep] = rows[i, start:start + keep]
    valid = np.arange(size)[None] < np.minimum(lengths, most)[:, None]
    return out, cut_rows, valid


class WholeValidation(keras.callbacks.Callback):
    """After each epoch, the validation NLL and accuracy per token on whole chorales (plan
    unknown, nothing known: chorale.model.evaluate.whole) as the logs' val_loss and
    val_accuracy, which Checkpoint, early stopping and the card read."""

    def __init__(self, tokens: list[np.ndarray]):
        super().__init__()
        self.tokens = tokens

    def on_epoch_end(self, epoch, logs=None):
        scores = whole(self.model, self.tokens, eager=True)
        logs["val_loss"], logs["val_accuracy"] = scores["nll"], scores["accuracy"]


class Checkpoint(keras.callbacks.Callback):
    """After each epoch: save the best model, the checkpoint, then history.csv; stop early."""

    def __init__(self, out: Path, history: list[dict], patience: int):
        super().__init__()
        self.out, self.history, self.patience = out, history, patience

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.time()

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in logs.items()}, "seconds": time.time() - self.t0}
        if not (np.isfinite(row["loss"]) and np.isfinite(row["val_loss"])):  # nothing worth saving
            raise ChoraleError(f"training diverged in epoch {epoch + 1} (loss {row['loss']:g}, validation loss "
                               f"{row['val_loss']:g}); try a lower --learning-rate")
        if row["val_loss"] < min((h["val_loss"] for h in self.history), default=np.inf):
            _save(self.model, self.out / "model.keras")
        self.history.append(row)
        _save(self.model, self.out / "checkpoint.keras")
        _write_history(self.out / "history.csv", self.history)
        self.model.stop_training = _stale(self.history, self.patience)


def _stale(history, patience=PATIENCE) -> bool:
    """Early stopping: `patience` epochs since the best validation loss."""
    if not history:
        return False
    best = min(range(len(history)), key=lambda i: history[i]["val_loss"])
    return len(history) - 1 - best >= patience


def _save(model, path):
    with atomic_path(path) as tmp:
        model.save(tmp)


def _read_history(path) -> list[dict]:
    import pandas as pd

    try:
        history = pd.read_csv(path)
        values = history[HISTORY_COLUMNS].apply(pd.to_numeric, errors="coerce")
    except (ValueError, KeyError):  # pandas' parse errors are ValueErrors
        values = None
    if values is None or values.empty or values.isna().any(axis=None):
        raise ChoraleError(f"{path}: damaged (not the history chorale train writes); start the run again with --force")
    return history.to_dict("records")


def _write_history(path, history):
    import pandas as pd

    with atomic_write(path, newline="") as f:
        pd.DataFrame(history).to_csv(f, index=False)


def _plot(history, path):
    figure = learning_curves(history)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100)


def learning_curves(history):
    """Loss and accuracy per epoch, train and validation: lines with a marker at every
    epoch, so that a one-epoch run still shows its two points."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    epochs = [h["epoch"] for h in history]
    figure = Figure(figsize=(10, 4))
    for ax, metric in zip(figure.subplots(1, 2), ("loss", "accuracy")):
        ax.plot(epochs, [h[metric] for h in history], marker="o", label="train")
        ax.plot(epochs, [h[f"val_{metric}"] for h in history], marker="o", label="valid")
        ax.set(xlabel="epoch", ylabel=metric, title=metric)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
    figure.tight_layout()
    return figure
