"""File helpers shared by every command: atomic writes, bundled resources."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from chorale import ChoraleError

_PACKAGE = Path(__file__).resolve().parents[1]  # chorale/


def bundled(name: str) -> Path:
    """Path of a bundled resource ("chorales", "model"): inside the installed package, or
    in the repository's data/ folder when running from a source checkout."""
    installed = _PACKAGE / "_bundled" / name
    return installed if installed.exists() else _PACKAGE.parent / "data" / name


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temporary(path: Path, prefix: str, suffix: str) -> tuple[int, str]:
    """(fd, name) of a new empty file beside `path`, with the usual file mode; a missing or
    unwritable folder is the user's error, said before any work is done."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ChoraleError(f"{path}: {folder} is not a folder" if folder.exists() else
                           f"{path}: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=suffix)
    except OSError as e:
        raise ChoraleError(f"{path}: cannot write ({e.strerror})") from None
    os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual mode
    return fd, tmp


def check_output(path, force: bool = False) -> None:
    """Refuse, before any slow work starts, an output that exists (unless `force`) or that
    cannot be written: its folder is missing or read-only."""
    path = Path(path)
    if path.exists() and not force:
        raise ChoraleError(f"{path} already exists (use --force to overwrite)")
    fd, probe = _temporary(path, prefix=f".{path.name}.", suffix=".probe")
    os.close(fd)
    os.unlink(probe)


@contextlib.contextmanager
def atomic_write(path, mode: str = "w", **kwargs):
    """Open a temporary file beside `path`; on success rename it over `path`.

    An interrupted or failed write leaves `path` as it was (absent or the old file),
    and two writers never interleave bytes: each renames a complete file.
    """
    path = Path(path)
    fd, tmp = _temporary(path, prefix=f".{path.name}.", suffix=".tmp")
    try:
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
    # Keep the suffix: Keras and matplotlib choose the format from it.
    fd, tmp = _temporary(path, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove_temporaries(folder) -> None:
    """Delete the temporary files that writers killed outright (SIGKILL runs no cleanup) left in `folder`."""
    for tmp in Path(folder).glob(".*.tmp*"):
        tmp.unlink(missing_ok=True)
