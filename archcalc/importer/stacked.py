"""Branches stacked in front of the batch axis and reduced over it: `torch.stack(branches).sum(dim=0)` (timm's
parallel ViT blocks, vit_base_patch16_18x2_224) and `torch.mean(torch.stack(heads, dim=0), dim=0)` (CrossViT's
heads). The stacked tensor has no batch axis in front, so no layer can hold it; summed over its new axis it is
the elementwise sum of the branches, an `add` of n inputs ((n - 1) adds per element, as a sum over an axis of
n counts), and averaged, that sum divided by n (an `add` and a `scalar` division). A stack that anything else
reads, or that the model returns, is not held back: the stack rule refuses it ("works across the batch axis").
"""

from __future__ import annotations

import torch

from archcalc.importer.outputs import tensors
from archcalc.layers import REGISTRY

_STACKS = (torch.stack,)
_REDUCTIONS = {torch.sum: "sum", torch.Tensor.sum: "sum", torch.mean: "mean", torch.Tensor.mean: "mean"}


def front_stack(call, producer: dict) -> list[torch.Tensor] | None:
    """The branches of `torch.stack(branches)` along dim 0 (in front of the batch), all layer outputs of one
    shape; None for any other call."""
    if call.target not in _STACKS or not call.args or not isinstance(call.args[0], (list, tuple)):
        return None
    dim = call.kwargs.get("dim", call.args[1] if len(call.args) > 1 else 0)
    branches = list(call.args[0])
    if len(branches) < 2 or not all(isinstance(t, torch.Tensor) and id(t) in producer for t in branches):
        return None
    rank = branches[0].dim() + 1
    if dim not in (0, -rank) or set(call.kwargs) - {"dim"} or len(call.args) > 2:
        return None
    if any(t.shape != branches[0].shape for t in branches):
        return None
    return branches


def reduction_of(call, stacks: dict) -> tuple[str, list[torch.Tensor]] | None:
    """('sum' or 'mean', the branches) when the call reduces a front stack over dim 0, keeping no axis."""
    try:
        kind = _REDUCTIONS.get(call.target)
    except TypeError:  # an unhashable callable
        return None
    operands = tensors((call.args, call.kwargs))
    if kind is None or len(operands) != 1 or id(operands[0]) not in stacks:
        return None
    names = ("input", "dim", "keepdim")
    bound = dict(zip(names, call.args)) | call.kwargs
    if set(bound) - set(names) or bound.get("keepdim", False) or bound.get("dim") not in (0, (0,), [0]):
        return None
    return kind, stacks[id(operands[0])]


def only_reduced(stacked: torch.Tensor, branches: list[torch.Tensor], calls: list, returned: list) -> bool:
    """Every later call that reads `stacked` sums or averages it over dim 0, and the model does not return it."""
    if any(t is stacked for t in returned):
        return False
    readers = [call for call in calls if any(t is stacked for t in tensors((call.args, call.kwargs)))]
    return bool(readers) and all(reduction_of(call, {id(stacked): branches}) for call in readers)


def map_stacked(mapper, call, outputs: list[torch.Tensor]) -> bool:
    """The dispatcher's (mapping.Mapper) step for stacks: torch.stack(branches) in front of the batch axis is held
    back; its sum or mean over that axis is an add of the branches (and a division by their number)."""
    branches = None if call.is_module else front_stack(call, mapper.producer)
    if branches is not None and len(outputs) == 1 and only_reduced(outputs[0], branches, mapper.trace.calls,
                                                                    tensors(mapper.trace.output)):  # fmt: skip
        mapper.stacks[id(outputs[0])] = branches
        return True
    reduced = None if call.is_module or len(outputs) != 1 else reduction_of(call, mapper.stacks)
    if reduced is None:
        return False
    kind, branches = reduced
    add = REGISTRY["add"].resolve_attrs({}, {})
    mapper.add(call, "add", add, [mapper.producer[id(t)] for t in branches], outputs[0], form="operator")
    if kind == "mean":
        share = {"op": "div", "value": float(len(branches)), "side": "right", "inplace": False}
        divide = REGISTRY["scalar"].resolve_attrs(share, {})
        mapper.add(call, "scalar", divide, [mapper.producer[id(outputs[0])]], outputs[0], form="operator")
    return True
