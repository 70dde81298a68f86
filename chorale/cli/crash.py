"""What the CLI says when a command fails in a way no check caught: an operating-system
error without a file name (a full disk, a file size limit) as one line the user can act
on, and for anything else the last resort's report file, written so that a disk too full
for it still leaves the one line (and no empty report) behind.
"""

from __future__ import annotations

import errno
import os
import sys

from chorale import __version__

FULL = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


def os_error_line(error: OSError) -> str | None:
    """One line for an OSError without a file name that the user, not chorale, can fix; None
    for any other (a bug)."""
    if error.errno in FULL:
        return (f"cannot write the output: {error.strerror} (free some disk space, or raise the file size "
                "limit, `ulimit -f`); nothing half-written was left")
    if error.errno == errno.EROFS:
        return f"cannot write the output: {error.strerror}"
    return None


def report(what: str, error: BaseException) -> str | None:
    """Write the traceback of an unexpected error to a file in the temporary folder and
    return its path; None when it cannot be written (then no partial file is left)."""
    import platform
    import tempfile
    import time
    import traceback

    path = None
    try:
        fd, path = tempfile.mkstemp(prefix=f"chorale-report-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=".txt")
        with open(fd, "w", encoding="utf-8", errors="backslashreplace") as f:
            f.write(f"chorale {__version__}, Python {platform.python_version()}, {platform.platform()}\n"
                    f"command: {what}\nargv: {sys.argv!r}\n\n")
            traceback.print_exception(error, file=f)
        return path
    except OSError:
        if path is not None:
            try:
                os.unlink(path)
            except OSError:
                pass
        return None
