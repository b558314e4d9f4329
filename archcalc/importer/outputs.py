"""Finding tensors: in a call's nested arguments, and in what a model's forward returns."""

from __future__ import annotations

from typing import Any

import torch

from archcalc.errors import ArchcalcError


def tensors(value: Any) -> list[torch.Tensor]:
    """Tensors inside nested tuples, lists and dicts, in order."""
    out: list[torch.Tensor] = []
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, torch.Tensor):
            out.append(item)
        elif isinstance(item, (tuple, list)):
            pending.extend(reversed(item))
        elif isinstance(item, dict):
            pending.extend(reversed(list(item.values())))
    return out


def returned_tensors(output: Any, notes: list[str]) -> list[torch.Tensor]:
    """The tensors a forward returns: in tuples, lists and dicts (and dict-like outputs), or held by an object
    such as a torch.distributions.Normal, whose tensors (loc, scale) stand for it, with a note."""
    found = tensors(output)
    if found:
        return found
    if output is None:
        raise ArchcalcError("the model's forward returns None; archcalc analyses the tensors a forward returns")
    held = {key: value for key, value in vars(output).items() if isinstance(value, torch.Tensor)} \
        if hasattr(output, "__dict__") else {}  # fmt: skip
    kind = f"{type(output).__module__}.{type(output).__qualname__}"
    if not held:
        raise ArchcalcError(f"the model's forward returns {kind}, which holds no tensor; archcalc analyses the "
                            "tensors a forward returns (alone or in a tuple, list or dict)")  # fmt: skip
    notes.append(f"the forward returns a {type(output).__name__}; its tensors {', '.join(held)} are taken as the "
                 "model's outputs")  # fmt: skip
    return list(held.values())
