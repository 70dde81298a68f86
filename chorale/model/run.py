"""The run folder `chorale train` writes: its card, its Keras model, its NumPy sampler.

One module reads run folders, so every command checks them the same way. Importing it
costs no TensorFlow: Keras is imported inside `safe_load` and `load_run` only, because
`generate` must start without it whenever sampler.npz is valid.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from chorale import ChoraleError

SHIPPED_MODULES = ("keras", "chorale", "builtins")  # a model may only need code from these


def read_card(model_dir):
    """(card, vocabulary) of a trained model folder, after checking the folder holds a model."""
    from chorale.encoding import Vocabulary  # NumPy: not on the `chorale --help` path
    from chorale.io.files import kind, read_input
    from chorale.limits import MAX_TEXT_BYTES
    from chorale.model.card import check_card

    model_dir = Path(model_dir)
    if kind(model_dir) != "folder":
        raise ChoraleError(f"{model_dir}: no such model folder")
    if kind(model_dir / "card.json") != "file":
        raise ChoraleError(f"{model_dir}: no card.json (not a finished training run)")
    try:
        card = json.loads(read_input(model_dir / "card.json", MAX_TEXT_BYTES, "model card"))
        vocab = Vocabulary.from_dict(card["vocabulary"])
    except (ValueError, KeyError, TypeError):
        raise ChoraleError(f"{model_dir / 'card.json'}: not a model card") from None
    check_card(card, model_dir / "card.json")
    if kind(model_dir / "model.keras") != "file":
        raise ChoraleError(f"{model_dir}: no model.keras")
    return card, vocab


def safe_load(path):
    """A .keras model in Keras safe mode, after refusing, with a clear message, any file whose
    config asks for code: a Python lambda's bytecode, or anything outside Keras and chorale."""
    from chorale.backend import keras

    import chorale.model.networks  # noqa: F401  (registers the custom layers)

    try:
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ChoraleError(f"{path}: not a loadable chorale model (a corrupt or truncated .keras file)") from None
    code = _code_needed(config)
    if code:
        raise ChoraleError(f"{path}: refused: the model needs code that chorale does not ship ({code})")
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as e:  # Keras raises many types for a foreign file
        reason = (str(e).strip().splitlines() or [""])[0][:100]
        raise ChoraleError(f"{path}: not a loadable chorale model ({type(e).__name__}: {reason})") from None


def _code_needed(config) -> str | None:
    """The first object in a Keras model config that safe mode must refuse: a Python lambda
    (marshalled bytecode), or a class or function from a module other than SHIPPED_MODULES."""
    items = config.values() if isinstance(config, dict) else config if isinstance(config, list) else ()
    if isinstance(config, dict):
        if config.get("class_name") == "__lambda__":
            return "a Python lambda"
        module = config.get("module")
        if isinstance(module, str) and module.split(".")[0] not in SHIPPED_MODULES:
            name = config.get("config") if config.get("class_name") == "function" else config.get("class_name")
            return f"{module}.{name}"
    return next(filter(None, map(_code_needed, items)), None)


def check_model(model_dir, model, card, vocab):
    """The model matches its card: classes, architecture, size."""
    if model.output_shape[-1] != vocab.size:
        raise ChoraleError(f"{model_dir}: the model predicts {model.output_shape[-1]} classes, "
                           f"its card says {vocab.size}")
    arch = card.get("architecture")
    if arch is not None and model.name != f"chorale_{arch.replace('-', '_')}":
        raise ChoraleError(f"{model_dir}: model.keras holds '{model.name}', its card says a {arch} model")
    if card.get("parameters", model.count_params()) != model.count_params():
        raise ChoraleError(f"{model_dir}: model.keras has {model.count_params():,} parameters, "
                           f"its card says {card['parameters']}")


def load_run(model_dir):
    """(model, card, vocabulary) of a trained model folder whose card describes its model.keras."""
    model_dir = Path(model_dir)
    card, vocab = read_card(model_dir)
    model = safe_load(model_dir / "model.keras")
    check_model(model_dir, model, card, vocab)
    check_plan(model_dir, card)
    return model, card, vocab


def check_plan(model_dir, card) -> None:
    """Plan ids mean what this chorale's plan_rows makes only for the same plan version."""
    from chorale.model.plan import PLAN_VERSION

    version = card.get("plan", 0)
    if version not in (0, PLAN_VERSION):
        raise ChoraleError(f"{model_dir}: the model reads plan version {version}; this chorale writes "
                           f"version {PLAN_VERSION}: retrain it")


# ---------------------------------------------------------------------------- runs in progress
RUN_KEYS = {"arch", "epochs", "batch_size", "learning_rate", "augment", "seed", "options", "schedule", "data",
            "data_fingerprint", "vocabulary", "voice_ranges", "plan", "window"}


def check_run_folder(out: Path, resume: bool, force: bool) -> dict | None:
    """Check the run folder (changing nothing, importing no TensorFlow: a wrong --out is
    said at once); return the stored run config when resuming."""
    if resume:
        if not (out / "run.json").is_file():
            raise ChoraleError(f"{out}: not a training run (no run.json); nothing to resume")
        if (out / "card.json").is_file():
            raise ChoraleError(f"{out}: this run has finished (card.json exists); nothing to resume")
        if not (out / "checkpoint.keras").is_file() or not (out / "history.csv").is_file():
            raise ChoraleError(f"{out}: no checkpoint yet; start the run again with --force")
        return read_run(out / "run.json")
    if out.exists() and not force:
        raise ChoraleError(f"{out}: already exists (use --force to replace it, --resume to continue it)")
    if out.exists() and not out.is_dir():
        raise ChoraleError(f"{out}: exists and is not a folder")
    return None


def read_run(path: Path) -> dict:
    """The settings of an interrupted run (run.json), checked: a damaged file is said so."""
    try:
        run = json.loads(path.read_text())
    except ValueError:
        run = None
    if not isinstance(run, dict) or not RUN_KEYS <= run.keys():
        raise ChoraleError(f"{path}: damaged (not the settings chorale train writes); start the run again with --force")
    return run
