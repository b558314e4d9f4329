"""Writing output files: whole or not at all, where the user said, and nothing else.

A regular file (new or existing) is written to a temporary file in the same folder and renamed over the
target only once it is complete on disk (os.replace), so a failing run never leaves a half-written file
and never touches an existing one; a replaced file keeps its permission bits, a new one gets 0644; a
symbolic link to a file stays a link (its target is replaced). Anything else that already exists (a
FIFO, a terminal, /dev/null, /dev/stdout, which is a link to /proc/self/fd/1) is written into, not
replaced: renaming a file over /dev/null as root would replace the device.

`write_files` writes several files as one: every temporary file first, then the renames, so a run that
fails while writing (or before: callers render everything first) leaves none of them. The temporary
names are short (a 250-character file name still works), and a SIGTERM during the write removes them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import threading
from pathlib import Path
from typing import Iterator, Mapping

from archcalc.errors import ArchcalcError

TEMP_PREFIX, TEMP_SUFFIX = ".archcalc-", ".tmp"


def _fail(message: str, target: str) -> ArchcalcError:
    return ArchcalcError(message, file=target)


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def check_target(path: str | os.PathLike) -> None:
    """Refuse an output name that cannot be a file, before any work is done."""
    text = os.fspath(path)
    if not text.strip():
        raise ArchcalcError("--output needs a file name, got an empty one")
    if "\x00" in text:
        raise ArchcalcError("--output: a file name cannot hold a NUL byte")
    target = Path(text)
    if text.endswith(("/", os.sep)) or text in (".", ".."):
        if target.is_dir():
            raise _fail("is a directory; give a file name for --output", text)
        raise _fail("names a folder (it ends with /), and that folder does not exist; give a file name", text)
    try:
        info = os.stat(target)
    except FileNotFoundError:
        folder = target.parent
        if not folder.is_dir():
            raise _fail(f"cannot write here: folder {str(folder)!r} does not exist", text) from None
        return
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot write: {_reason(exc)}", text) from None
    if stat.S_ISDIR(info.st_mode):
        raise _fail("is a directory; give a file name for --output", text)
    if stat.S_ISSOCK(info.st_mode):
        raise _fail("is a socket; give a file name for --output", text)


def _is_special(target: Path) -> bool:
    """An existing target that is not a regular file (a FIFO, a device, a pipe behind /dev/stdout)."""
    try:
        info = os.stat(target)
    except (FileNotFoundError, NotADirectoryError):
        return False
    return not stat.S_ISREG(info.st_mode)


def _mode_of(target: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return 0o644


class _Terminated(BaseException):
    """SIGTERM arrived while temporary files existed: remove them, then end as the signal asks."""


@contextlib.contextmanager
def _cleanup_on_sigterm() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise _Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, previous)
        raise SystemExit(128 + signal.SIGTERM) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def _write_into(target: str, payload: bytes) -> None:
    """Write into an existing special file (FIFO, device, stdout's pipe) without replacing it."""
    try:
        with open(target, "wb") as handle:
            handle.write(payload)
    except BrokenPipeError:
        return  # the reader left, as with `| head`: not an error
    except OSError as exc:
        raise _fail(f"cannot write: {_reason(exc)}", target) from None


def write_files(files: Mapping[str | os.PathLike, str | bytes]) -> None:
    """Write every file or none: temporary files first, then the renames (see the module docstring)."""
    targets: dict[str, tuple[Path, bytes]] = {}
    seen: dict[str, str] = {}
    for path, data in files.items():
        text = os.fspath(path)
        check_target(text)
        real = os.path.realpath(text)
        if real in seen:
            raise _fail(f"is written twice by this command (also as {seen[real]!r}); choose another name", text)
        seen[real] = text
        targets[text] = (Path(real), data.encode("utf-8") if isinstance(data, str) else data)
    special = {name: payload for name, (real, payload) in targets.items() if _is_special(Path(name))}
    temps: list[tuple[str, Path, str]] = []  # (temporary file, final path, name the user gave)
    with _cleanup_on_sigterm():
        try:
            for name, (real, payload) in targets.items():
                if name in special:
                    continue
                temps.append((_write_temp(real, payload, name), real, name))
            for temp, real, name in temps:
                try:
                    os.replace(temp, real)
                except OSError as exc:
                    raise _fail(f"cannot write: {_reason(exc)}", name) from None
        except BaseException:
            for temp, _, _ in temps:
                Path(temp).unlink(missing_ok=True)
            raise
    for name, payload in special.items():
        _write_into(name, payload)


def _write_temp(real: Path, payload: bytes, name: str) -> str:
    import tempfile  # only when writing a file: it pulls in random and friends

    try:
        fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=real.parent)
    except OSError as exc:
        raise _fail(f"cannot write here: {_reason(exc)}", name) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, _mode_of(real))
    except BaseException as exc:
        Path(temp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _fail(f"cannot write: {_reason(exc)}", name) from None
        raise
    return temp


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write one file whole or not at all (see `write_files`)."""
    write_files({path: data})
