"""Writing output files atomically: a temporary file in the same folder, then a rename.

A failing run never leaves a half-written file, and never touches an existing one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from archcalc.errors import ArchcalcError


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise ArchcalcError("is a directory; give a file name for --output", file=str(target))
    if not folder.is_dir():
        raise ArchcalcError(f"folder {str(folder)!r} does not exist", file=str(target))
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ArchcalcError(f"cannot write here: {exc.strerror or exc}", file=str(target)) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise ArchcalcError(f"cannot write: {exc.strerror or exc}", file=str(target)) from None
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
