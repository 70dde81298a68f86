"""File helpers shared by every command: atomic writes, bundled resources, model cards."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from chorale import ChoraleError
from chorale.encoding import Vocabulary

_PACKAGE = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    """Path of a bundled resource ("chorales", "model"): inside the installed package, or
    in the repository's data/ folder when running from a source checkout."""
    installed = _PACKAGE / "_bundled" / name
    return installed if installed.exists() else _PACKAGE.parent / "data" / name


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path, mode: str = "w", **kwargs):
    """Open a temporary file beside `path`; on success rename it over `path`.

    An interrupted or failed write leaves `path` as it was (absent or the old file),
    and two writers never interleave bytes: each renames a complete file.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ChoraleError(f"{path}: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise ChoraleError(f"{path}: cannot write ({e.strerror})") from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual mode
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path` for libraries that insist on writing by name
    (Keras, matplotlib); rename it over `path` when the block succeeds."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ChoraleError(f"{path}: folder {folder} does not exist")
    # Keep the suffix: Keras and matplotlib choose the format from it.
    tmp = folder / f".{path.stem}.{os.getpid()}.tmp{path.suffix}"
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_card(model_dir):
    """(card, vocabulary) of a trained model folder, after checking the folder holds a model."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ChoraleError(f"{model_dir}: no such model folder")
    if not (model_dir / "card.json").is_file():
        raise ChoraleError(f"{model_dir}: no card.json (not a finished training run)")
    try:
        card = json.loads((model_dir / "card.json").read_text())
        vocab = Vocabulary.from_dict(card["vocabulary"])
    except (ValueError, KeyError, TypeError):
        raise ChoraleError(f"{model_dir / 'card.json'}: not a model card") from None
    if not (model_dir / "model.keras").is_file():
        raise ChoraleError(f"{model_dir}: no model.keras")
    return card, vocab
