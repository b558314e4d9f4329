"""Writing output files atomically: a temporary file in the same folder, then a rename.

A failing run never leaves a half-written file, and never touches an existing one: the old file
is replaced in one step (os.replace) only once the new one is complete on disk. A replaced file
keeps its permission bits; a new one gets 0644.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from archcalc.errors import ArchcalcError


def _mode_of(target: Path) -> int:
    """Permission bits for the file we write: the old file's, if there is one (and it is a file)."""
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return 0o644
    except (OSError, ValueError) as exc:
        raise ArchcalcError(f"cannot write: {getattr(exc, 'strerror', None) or exc}", file=str(target)) from None
    if stat.S_ISDIR(info.st_mode):
        raise ArchcalcError("is a directory; give a file name for --output", file=str(target))
    return stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else 0o644


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    mode = _mode_of(target)
    if not folder.is_dir():
        raise ArchcalcError(f"folder {str(folder)!r} does not exist", file=str(target))
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        import tempfile  # only when writing a file: it pulls in random and friends

        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ArchcalcError(f"cannot write here: {exc.strerror or exc}", file=str(target)) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise ArchcalcError(f"cannot write: {exc.strerror or exc}", file=str(target)) from None
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
