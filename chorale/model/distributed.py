"""Training one model across several machines (`chorale train --distribute mirrored` with
TF_CONFIG set on each worker). TensorFlow only.

Keras 3.15.1's `Model.fit` cannot start under MultiWorkerMirroredStrategy: its symbolic
build asks the strategy to reduce the integer input batch with "MEAN", which the
collectives refuse. The engine itself works, so `fit` here is the same epoch loop by hand:
each worker draws the same global batch (train.batches depends only on seed and epoch),
each replica takes its slice, `strategy.run` computes the weighted loss over the global
batch and applies the gradients (Keras's optimizer sums them across replicas), and the
loss, accuracy and validation are summed across workers, so every worker reports the same
numbers. Callbacks (train.Checkpoint) see what they see under `Model.fit`.

Workers wait for each other at most WAIT_SECONDS: TensorFlow's own wait for a missing
worker never ends and ignores SIGTERM, so the peers' ports are probed first.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import time

import numpy as np

from chorale import ChoraleError

WAIT_SECONDS = 120  # how long a worker waits for the others to start
TASK_TYPES = ("chief", "worker")  # MultiWorkerMirroredStrategy's; parameter servers are another strategy


def cluster() -> tuple[dict[str, list[str]], str, int] | None:
    """(cluster, task type, task index) from TF_CONFIG, checked; None when it is unset."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return None
    example = '{"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker", "index": 0}}'
    try:
        config = json.loads(text)
    except ValueError:
        raise ChoraleError(f"TF_CONFIG is not JSON; expected e.g. {example}") from None
    spec = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(spec, dict) or not isinstance(task, dict):
        raise ChoraleError(f"TF_CONFIG needs a \"cluster\" and a \"task\", e.g. {example}")
    for name, addresses in spec.items():
        if name not in TASK_TYPES:
            raise ChoraleError(f"TF_CONFIG: task type '{name}' is not supported (only chief and workers train)")
        if not (isinstance(addresses, list) and addresses
                and all(isinstance(a, str) and _port(a) is not None for a in addresses)):
            raise ChoraleError(f"TF_CONFIG: cluster \"{name}\" must be a list of \"host:port\" addresses")
    if len(spec.get("chief", [])) > 1:
        raise ChoraleError("TF_CONFIG names several chiefs; one leads (or none: then worker 0 does)")
    if not spec:
        raise ChoraleError("TF_CONFIG names no chief: its cluster needs a \"chief\" or a \"worker\" list")
    kind, index = task.get("type"), task.get("index", 0)
    if kind not in spec or not isinstance(index, int) or not 0 <= index < len(spec[kind]):
        raise ChoraleError(f"TF_CONFIG: task {json.dumps(task)} is not in the cluster "
                           f"({', '.join(f'{k}: {len(v)}' for k, v in spec.items())})")
    return spec, kind, index


def is_chief() -> bool:
    """Whether this process writes the run: always, unless TF_CONFIG makes it one of several
    workers other than the chief (the "chief" task, else worker 0: TensorFlow's convention)."""
    found = cluster()
    if found is None:
        return True
    spec, kind, index = found
    return kind == "chief" or (kind == "worker" and index == 0 and "chief" not in spec)


def _port(address: str) -> int | None:
    host, _, port = address.rpartition(":")
    return int(port) if host and port.isdigit() and 0 < int(port) < 65536 else None


def wait_for_peers(spec: dict[str, list[str]], kind: str, index: int, seconds: float = WAIT_SECONDS) -> None:
    """Return when every other task's address accepts a connection; say which do not after
    `seconds`. Our own port answers meanwhile (a plain listener, closed before TensorFlow
    takes the port), so workers started in any order find each other."""
    own = spec[kind][index]
    peers = [a for k, addresses in spec.items() for i, a in enumerate(addresses) if (k, i) != (kind, index)]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("", _port(own)))
    except OSError as e:
        listener.close()
        raise ChoraleError(f"TF_CONFIG: this worker's address {own} cannot be used ({e.strerror})") from None
    listener.listen(16)
    listener.settimeout(0)
    deadline, waiting = time.monotonic() + seconds, list(peers)
    try:
        while waiting and time.monotonic() < deadline:
            waiting = [a for a in waiting if not _answers(a)]
            with contextlib.suppress(OSError):
                while True:
                    listener.accept()[0].close()
            if waiting:
                time.sleep(0.2)
        # keep answering a little longer: a peer probing us right now must see us once
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            with contextlib.suppress(OSError):
                listener.accept()[0].close()
            time.sleep(0.05)
    finally:
        listener.close()
    if waiting:
        raise ChoraleError(f"TF_CONFIG: worker{'s' * (len(waiting) > 1)} {', '.join(waiting)} could not be reached "
                           f"within {seconds:g} s (start every worker, and check the addresses and firewalls)")


def _answers(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=1.0):
            return True
    except OSError:
        return False


def strategy():
    """MultiWorkerMirroredStrategy over the TF_CONFIG cluster, once every worker is up."""
    from chorale.backend import tensorflow as tf

    spec, kind, index = cluster()
    wait_for_peers(spec, kind, index)
    return tf.distribute.MultiWorkerMirroredStrategy()


def workers(strategy) -> int:
    """How many machines (tasks) train together: 1 unless TF_CONFIG lists several."""
    found = cluster() if _is_multi_worker(strategy) else None
    return sum(len(a) for a in found[0].values()) if found else 1


def _is_multi_worker(strategy) -> bool:
    from chorale.backend import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def fit_function(model, strategy):
    """`model.fit`, or under MultiWorkerMirroredStrategy this module's `fit` (same arguments)."""
    return functools.partial(fit, model, strategy) if _is_multi_worker(strategy) else model.fit


def fit(model, strategy, batches, *, steps_per_epoch: int, epochs: int, initial_epoch: int = 0,
        validation_data=None, callbacks=(), verbose=1, shuffle=False):
    """Train like `model.fit(batches, ...)` (compiled model; `batches` yields (inputs,
    targets[, weights]) global batches; `validation_data` is (inputs, targets) in whole
    global batches), across the strategy's replicas. `shuffle` is unused: the batches
    come shuffled."""
    from chorale.backend import keras
    from chorale.backend import tensorflow as tf

    replicas = strategy.num_replicas_in_sync
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)

    def sums(inputs, targets, weights, training):
        logits = model(inputs, training=training)
        correct = tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=targets.dtype), targets), weights.dtype)
        return tf.reduce_sum(loss_fn(targets, logits) * weights), tf.reduce_sum(correct * weights), tf.reduce_sum(weights)

    def train_replica(inputs, targets, weights):
        total = tf.distribute.get_replica_context().all_reduce("sum", tf.reduce_sum(weights))
        with tf.GradientTape() as tape:
            loss, correct, count = sums(inputs, targets, weights, training=True)
            scaled = loss / total  # this replica's share of the global batch's mean
        gradients = tape.gradient(scaled, model.trainable_variables)
        model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))  # summed over replicas
        return loss, correct, count

    def summed(replica_fn):
        @tf.function
        def step(inputs, targets, weights):
            per_replica = strategy.run(replica_fn, args=(inputs, targets, weights))
            return [strategy.reduce("sum", value, axis=None) for value in per_replica]
        return step

    train_step = summed(train_replica)
    eval_step = summed(functools.partial(sums, training=False))

    global_batch = []  # the training batches' size, which validation is cut to (train.py)

    def shares(batch):
        """The global batch as the replicas' slices (each worker holds the same global batch)."""
        inputs, targets, *weights = batch
        weights = weights[0] if weights else np.ones(targets.shape, np.float32)
        if len(targets) % replicas:
            raise ChoraleError(f"--batch-size {len(targets)} must be a multiple of the {replicas} replicas")
        global_batch[:] = [len(targets)]
        size = len(targets) // replicas

        def value(context):
            i = context.replica_id_in_sync_group
            return tf.nest.map_structure(lambda a: tf.constant(a[i * size:(i + 1) * size]), (inputs, targets, weights))
        return strategy.experimental_distribute_values_from_function(value)

    def epoch_sums(step, stream, count, progress=None):
        total = np.zeros(3)
        for i in range(count):
            try:
                total += [float(v) for v in step(*shares(next(stream)))]
            except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError) as e:
                raise ChoraleError(f"another worker stopped answering ({type(e).__name__}); the run folder keeps "
                                   "the last finished epoch: start every worker again with --resume") from None
            if progress is not None:
                progress.update(i + 1, [("loss", total[0] / total[2]), ("accuracy", total[1] / total[2])])
        return total

    stream = iter(batches)
    callbacks = list(callbacks)
    for callback in callbacks:
        callback.set_model(model)
    model.stop_training = False
    names = ["loss", "accuracy", "val_loss", "val_accuracy"]
    for epoch in range(initial_epoch, epochs):
        for callback in callbacks:
            callback.on_epoch_begin(epoch)
        if verbose == 1:
            print(f"Epoch {epoch + 1}/{epochs}", flush=True)
        progress = keras.utils.Progbar(steps_per_epoch, verbose=verbose, stateful_metrics=names) if verbose else None
        loss, correct, count = epoch_sums(train_step, stream, steps_per_epoch, progress if verbose == 1 else None)
        logs = {"loss": loss / count, "accuracy": correct / count}
        if validation_data is not None:
            inputs, targets = validation_data
            size = global_batch[0]
            pieces = ((_rows(inputs, i, size), targets[i:i + size]) for i in range(0, len(targets), size))
            val_loss, val_correct, val_count = epoch_sums(eval_step, pieces, len(targets) // size)
            logs.update(val_loss=val_loss / val_count, val_accuracy=val_correct / val_count)
        if progress is not None:
            progress.update(steps_per_epoch, list(logs.items()), finalize=True)
        for callback in callbacks:
            callback.on_epoch_end(epoch, logs)
        if model.stop_training:
            break


def _rows(inputs, start: int, size: int):
    """Rows start..start+size of the model's inputs (an array or a dict of arrays)."""
    if isinstance(inputs, dict):
        return {name: value[start:start + size] for name, value in inputs.items()}
    return inputs[start:start + size]
