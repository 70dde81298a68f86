"""The one door to Keras and TensorFlow: `from chorale.backend import keras, tensorflow`.

TensorFlow 2.21 prints C++ notes while it loads (absl's "All log messages before
absl::InitializeLog() ..." and oneDNN's "custom operations are on"), which
TF_CPP_MIN_LOG_LEVEL no longer hides. They mean nothing to our users, so the import runs
with the process's stderr pointed at /dev/null; Python errors still raise as usual.
Turning oneDNN off (TF_ENABLE_ONEDNN_OPTS=0) would also hide them but makes training
slower on CPU (about 70 ms instead of 105 ms a batch here), so oneDNN stays on.
"""

import os
import sys


def _import_quietly():
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_import_quietly()

import keras  # noqa: E402
import tensorflow  # noqa: E402

__all__ = ["keras", "tensorflow"]
