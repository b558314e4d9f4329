"""Loading the user's model: `--module FILE.py:CALLABLE` or `package.module:CALLABLE`, then building it.

This runs the user's code (importing the file executes it, calling the callable builds the model),
by design. Every failure becomes one ArchcalcError line naming what failed.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

from archcalc.errors import ArchcalcError, closest
from archcalc.interrupts import raise_if_interrupted

USAGE = "--module takes FILE.py:CALLABLE or package.module:CALLABLE"


@contextlib.contextmanager
def output_to_stderr() -> Iterator[None]:
    """While the user's code runs, what it prints goes to stderr: stdout carries the report (JSON)."""
    sys.stdout.flush()
    saved = None
    try:
        out, err = sys.stdout.fileno(), sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # not real files (a test runner's buffers)
        out = err = -1
    if out >= 0 and err >= 0 and out != err:
        saved = os.dup(out)  # C code writing to fd 1 (a print from an extension) goes to stderr too
        os.dup2(err, out)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if saved is not None:
            sys.stderr.flush()
            os.dup2(saved, out)
            os.close(saved)


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def _import_file(path: Path) -> Any:
    if not path.is_file():
        raise ArchcalcError("no such file" if not path.exists() else "not a file", file=str(path))
    name = f"archcalc_user_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ArchcalcError("cannot be imported as Python", file=str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)  # so the file can import its neighbours
    try:
        spec.loader.exec_module(module)
    except KeyboardInterrupt:
        sys.modules.pop(name, None)
        raise
    except BaseException as exc:  # noqa: BLE001 - user code: any failure (sys.exit too) is bad input
        sys.modules.pop(name, None)
        raise_if_interrupted()  # torch's import turns a Ctrl-C into an ImportError at times
        raise ArchcalcError(f"importing it raised {one_line(exc)}", file=str(path)) from None
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    return module


def _import_dotted(dotted: str) -> Any:
    sys.path.insert(0, os.getcwd())  # `mypackage.models` from the current folder, as `python -m` does
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError as exc:
        if exc.name and dotted.startswith(exc.name):
            raise ArchcalcError(f"cannot import module {dotted!r}: no module named {exc.name!r}") from None
        raise_if_interrupted()
        raise ArchcalcError(f"importing module {dotted!r} raised {one_line(exc)}") from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - user code: sys.exit and BaseException are bad input too
        raise_if_interrupted()
        raise ArchcalcError(f"importing module {dotted!r} raised {one_line(exc)}") from None
    finally:
        sys.path.remove(os.getcwd())


def load_callable(text: str) -> tuple[Callable[[], Any], str]:
    """`model.py:build_model` -> (the callable, a label for messages). Dots in CALLABLE walk attributes."""
    where, sep, attribute = text.rpartition(":")
    if not sep or not where or not attribute:
        raise ArchcalcError(f"{USAGE}, got {text!r}")
    is_file = where.endswith(".py") or "/" in where or os.sep in where
    module = _import_file(Path(where)) if is_file else _import_dotted(where)
    raise_if_interrupted()  # user code (or torch under it) may have swallowed a Ctrl-C
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            known = [n for n in dir(target) if not n.startswith("_")]
            raise ArchcalcError(f"{where} has no attribute {attribute!r}{closest(part, known)}")
        target = getattr(target, part)
    if not callable(target):
        raise ArchcalcError(f"{text} is not callable ({type(target).__name__}); give a function or nn.Module class")
    return target, text


def build(factory: Callable[[], Any], label: str, device: str) -> Any:
    """Call the factory with `device` as torch's default device (meta: no weights allocated)."""
    import torch

    try:
        with torch.device(device):
            model = factory()
    except (ArchcalcError, KeyboardInterrupt):
        raise
    except BaseException as exc:  # noqa: BLE001 - user code: sys.exit and BaseException are bad input too
        raise ArchcalcError(f"{label} raised {one_line(exc)}") from None
    if not isinstance(model, torch.nn.Module):
        raise ArchcalcError(f"{label} returned {type(model).__name__}, not a torch.nn.Module")
    return model
