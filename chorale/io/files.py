"""File helpers shared by every command: safe reading of inputs, atomic and exclusive
writing of outputs, run-folder locks, bundled resources.

Every input file is read through `read_input` and every path is examined through `kind`,
so the operating system's refusals (permission denied, a name too long, a FIFO, a
device) become one-line ChoraleErrors at one place, and no reader can hang on a pipe or
read /dev/zero until memory runs out.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import stat
import tempfile
from pathlib import Path

from chorale import ChoraleError

_PACKAGE = Path(__file__).resolve().parents[1]  # chorale/
_NAME_MAX = 255  # bytes in one file name on every common file system
_REASONS = {errno.ENOENT: "no such file or folder", errno.EACCES: "permission denied",
            errno.EPERM: "permission denied", errno.ENAMETOOLONG: "file name too long",
            errno.ENOTDIR: "a part of the path is not a folder", errno.ELOOP: "too many symbolic links"}


def os_error(path, error: OSError) -> ChoraleError:
    """The one-line ChoraleError for an OSError about `path`."""
    return ChoraleError(f"{path}: {_REASONS.get(error.errno, error.strerror or type(error).__name__)}")


def kind(path) -> str | None:
    """"file", "folder", "other" (FIFO, device, socket) or None when nothing is there;
    unlike Path.exists(), a name too long or a folder that cannot be read is a ChoraleError."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        raise os_error(path, e) from None
    return "file" if stat.S_ISREG(mode) else "folder" if stat.S_ISDIR(mode) else "other"


def read_input(path, limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file `path`, refusing anything else (a FIFO would block, a
    device or /dev/zero never end) and anything over `limit` bytes, before reading it all."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))  # POSIX-only flags
    except OSError as e:
        raise os_error(path, e) from None
    with os.fdopen(fd, "rb") as f:
        status = os.fstat(fd)
        mode, size = status.st_mode, status.st_size
        if stat.S_ISDIR(mode):
            raise ChoraleError(f"{path}: is a folder, expected a {what}")
        if not stat.S_ISREG(mode):
            raise ChoraleError(f"{path}: not a regular file (a pipe, device or socket), expected a {what}")
        if size > limit:
            raise ChoraleError(f"{path}: {size:,} bytes is too large for a {what} (limit {limit:,})")
        try:
            data = f.read(limit + 1)  # the file may grow while we read
        except OSError as e:
            raise os_error(path, e) from None
    if len(data) > limit:
        raise ChoraleError(f"{path}: more than {limit:,} bytes, too large for a {what}")
    return data


def bundled(name: str) -> Path:
    """Path of a bundled resource ("chorales", "model"): inside the installed package, or
    in the repository's data/ folder when running from a source checkout."""
    installed = _PACKAGE / "_bundled" / name
    return installed if installed.exists() else _PACKAGE.parent / "data" / name


def _read_umask() -> int:
    """The process's umask, read once when this module loads (Python can read it only by
    setting it; doing that later, while a studio thread writes, would race)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_read_umask()  # the mode a plain open() would give a new file


# ---------------------------------------------------------------------------- outputs
_CREATABLE = contextvars.ContextVar("creatable", default=frozenset())  # default output folders, made
# when the first file is written into them (per command: a CLI call, a studio request)
_REPLACE = contextvars.ContextVar("replace", default=True)  # False inside `final_outputs(force=False)`


def create_on_write(folder) -> None:
    """Let `folder` (a default such as outputs/) be made when a file is first written into
    it, not before: a command that fails earlier leaves no trace."""
    _CREATABLE.set(_CREATABLE.get() | {Path(folder)})


@contextlib.contextmanager
def final_outputs(force: bool):
    """Inside the block, the atomic writers publish a file only under a free name unless
    `force`: two commands started together with the same output both pass the early
    check, and the second to finish is refused instead of silently replacing the first."""
    token = _REPLACE.set(force)
    try:
        yield
    finally:
        _REPLACE.reset(token)


def _short(name: str, room: int) -> str:
    """`name` cut to `room` bytes, so that a temporary name built from a legal long
    output name is still legal."""
    return os.fsdecode(os.fsencode(name)[:room])


def _temporary(path: Path, prefix: str, suffix: str, probe: bool = False) -> tuple[int, str]:
    """(fd, name) of a new empty file beside `path`, with the usual file mode; a missing or
    unwritable folder is the user's error, said before any work is done."""
    folder = path.parent if str(path.parent) else Path(".")
    found = kind(folder)
    if found is None and folder in _CREATABLE.get() and kind(folder.parent or ".") == "folder":
        if probe:  # can the default folder be made later? Probe where it would be made
            folder = folder.parent
        else:
            folder.mkdir(exist_ok=True)
        found = "folder"
    if found != "folder":
        raise ChoraleError(f"{path}: {folder} is not a folder" if found else f"{path}: folder {folder} does not exist")
    room = _NAME_MAX - len(os.fsencode(suffix)) - 10  # mkstemp adds 8 characters
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=_short(prefix, room), suffix=suffix)
    except OSError as e:
        raise ChoraleError(f"{path}: cannot write ({e.strerror})") from None
    if hasattr(os, "fchmod"):  # POSIX: mkstemp makes 0600 files; give the usual mode
        os.fchmod(fd, _FILE_MODE)
    return fd, tmp


def check_output(path, force: bool = False) -> None:
    """Refuse, before any slow work starts, an output that exists (unless `force`) or that
    cannot be written: its name is too long, its folder is missing or read-only."""
    path = Path(path)
    if len(os.fsencode(path.name)) > _NAME_MAX:
        raise ChoraleError(f"{path}: file name too long (over {_NAME_MAX} bytes)")
    if kind(path) is not None and not force:
        raise ChoraleError(f"{path} already exists (use --force to overwrite)")
    fd, probe = _temporary(path, prefix=f".{path.name}.", suffix=".probe", probe=True)
    os.close(fd)
    os.unlink(probe)


def _publish(tmp, path: Path) -> None:
    """Rename the finished temporary file to `path`: over an old file, or, inside
    `final_outputs(force=False)`, only if the name is still free (a hard link is atomic and
    fails if the name exists; where links are not supported, an exclusive create claims it)."""
    if _REPLACE.get():
        os.replace(tmp, path)
        return
    taken = ChoraleError(f"{path} already exists: another command wrote it while this one ran "
                         "(use --force to overwrite)")
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise taken from None
    except OSError:  # no hard links here: claim the name exclusively, then fill it
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            raise taken from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


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
        _publish(tmp, path)
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
        _publish(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove_temporaries(folder) -> None:
    """Delete the temporary files that writers killed outright (SIGKILL runs no cleanup) left in `folder`."""
    for tmp in Path(folder).glob(".*.tmp*"):
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def run_lock(folder):
    """Hold an exclusive lock on a run folder while a command writes it, so that a second
    `train --out` of the same folder is refused at once instead of mixing two runs.

    The lock is a file in the system's temporary folder named by the user and the run
    folder's real path (the run folder may not exist yet, and nothing is added to it);
    filelock makes it portable (flock on POSIX, msvcrt on Windows) and the operating
    system releases it if the process dies.
    """
    import getpass
    import hashlib

    from filelock import FileLock, Timeout

    key = hashlib.sha256(os.fsencode(os.path.realpath(folder))).hexdigest()[:20]
    lock = FileLock(Path(tempfile.gettempdir()) / f"chorale-{getpass.getuser()}-{key}.lock", is_singleton=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ChoraleError(f"{folder}: another chorale command is writing this run folder "
                           "(wait for it, or choose another --out)") from None
    try:
        yield
    finally:
        lock.release()
