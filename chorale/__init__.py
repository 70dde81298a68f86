"""chorale: learn from Bach's four-part chorales and write new ones as MIDI."""

import os

__version__ = "0.1.0"

# TensorFlow's C++ log (CPU instruction notes, memory patches, a tf.data attribute it
# reports as an error and ignores) means nothing to our users, and real failures still
# reach Python as exceptions. Set before any module imports Keras; the environment wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class ChoraleError(Exception):
    """A problem the user can fix (bad file, bad option value); the CLI prints it on one line."""
