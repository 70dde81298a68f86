"""A run folder's sampler: its weights as NumPy arrays (sampler.npz), made from model.keras
once and kept beside it, so that generating never imports TensorFlow. The cache belongs to
the sampler; the model layer knows nothing of it."""

from __future__ import annotations

from pathlib import Path

from chorale import ChoraleError
from chorale.model.run import check_model, check_plan, read_card, safe_load
from chorale.sampling.stepper import SAMPLER_FILE, Sampler, file_hash


def load_sampler(model_dir):
    """(Sampler, card, vocabulary) of a trained model folder.

    Uses the folder's sampler.npz when it was made from this model.keras (no TensorFlow
    import: generate starts in about a second); otherwise loads the Keras model once and
    writes sampler.npz beside it when the folder is writable.
    """
    model_dir = Path(model_dir)
    card, vocab = read_card(model_dir)
    source = file_hash(model_dir / "model.keras")
    sampler = Sampler.load(model_dir / SAMPLER_FILE, source)
    if sampler is None:
        model = safe_load(model_dir / "model.keras")
        check_model(model_dir, model, card, vocab)
        sampler = Sampler.from_model(model)
        try:
            sampler.save(model_dir / SAMPLER_FILE, source)
        except (ChoraleError, OSError):
            pass  # a read-only install: sample from memory, try again next time
    if sampler.output_width() != vocab.size:  # the card was edited after sampler.npz was made
        raise ChoraleError(f"{model_dir}: the model predicts {sampler.output_width()} classes, "
                           f"its card says {vocab.size}")
    check_plan(model_dir, card)
    return sampler, card, vocab
