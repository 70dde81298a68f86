"""chorale: learn from Bach's four-part chorales and write new ones.

    import chorale
    model = chorale.load_model()          # the bundled model
    piece = model.generate(seed=3)        # a Chorale: shows a piano roll and a player in Jupyter
    piece.save("song.mid")                # .mid .csv .wav .png .musicxml .pdf
    satb = model.harmonize(chorale.load("tune.mid"), candidates=8, seed=1)

Public names: load_model, Model, load, Chorale, train, evaluate, build_dataset, ChoraleError (see
docs/api.md). They are imported on first use, so `import chorale` stays light (no
TensorFlow, no music21, no NumPy).
"""

import os

__version__ = "0.1.0"

# TensorFlow's C++ log (CPU instruction notes, memory patches, a tf.data attribute it
# reports as an error and ignores) means nothing to our users, and real failures still
# reach Python as exceptions. Set before any module imports Keras; the environment wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class ChoraleError(Exception):
    """A problem the user can fix (bad file, bad option value); the CLI prints it on one line."""


_LAZY = {"load_model": "chorale.api", "Model": "chorale.api", "train": "chorale.api", "evaluate": "chorale.api",
         "build_dataset": "chorale.api",
         "load": "chorale.piece", "Chorale": "chorale.piece"}
__all__ = ["ChoraleError", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'chorale' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
