"""Operations whose output size depends on tensor values: why a detector has no fixed graph.

A detector keeps the boxes that survive a score threshold and non-maximum suppression; how many survive
depends on the values, not the shapes. archcalc counts a graph of fixed shapes, so it says which call
made the forward data-dependent instead of a vaguer "the output is not computed from the input" (issue 17:
detection models work or say exactly why not, in one line).
"""

from __future__ import annotations

import torch

from archcalc.importer.rules import qualified_name
from archcalc.importer.trace import Traced

# By name, so that torchvision's own ops (torch.ops.torchvision.nms, torchvision.ops.batched_nms) count
# without importing torchvision.
SIZE_FROM_VALUES = frozenset(("nms", "batched_nms", "nonzero", "argwhere", "masked_select", "unique",
                              "unique_consecutive", "bincount"))  # fmt: skip


def _name(call: Traced) -> str:
    target = call.target
    if type(target).__module__ == "torch._ops":  # torch.ops.torchvision.nms.default -> nms
        return str(target).split(".")[-2 if str(target).endswith(".default") else -1]
    return getattr(target, "__name__", "")


def _boolean_index(call: Traced) -> bool:
    """x[mask] or x[i, mask]: a boolean tensor among the indices."""
    index = call.args[1] if len(call.args) > 1 else None
    parts = index if isinstance(index, (tuple, list)) else (index,)
    return any(isinstance(part, torch.Tensor) and part.dtype == torch.bool for part in parts)


def is_data_dependent(call: Traced) -> bool:
    """True for a call whose output size (or Python value) depends on tensor values."""
    if call.is_module:
        return False
    name = _name(call)
    if name in SIZE_FROM_VALUES:
        return True
    if name == "where":  # torch.where(condition) alone is nonzero; with three arguments it is elementwise
        return len(call.args) + len(call.kwargs) == 1
    return name in ("__getitem__", "getitem") and _boolean_index(call)  # getitem: operator.getitem (torch.fx)


def first_data_dependent(calls: list[Traced]) -> Traced | None:
    return next((call for call in calls if is_data_dependent(call)), None)


def explained(call: Traced) -> str:
    """`torchvision.ops.boxes.nms at module roi_heads, file.py:12`: the call and where it happened."""
    return f"{qualified_name(call.target)} at {call.where}"


def no_fixed_graph(call: Traced) -> str:
    return (f"the model's output depends on its input's values, not only its shape: {explained(call)} keeps a "
            "number of elements that depends on the data (as a detector's score threshold and non-maximum "
            "suppression do), so there is no fixed graph to analyse; give archcalc the part of the model with "
            "fixed shapes, e.g. a function returning model.backbone")  # fmt: skip


def counted_for_this_trace(call: Traced) -> str:
    return (f"sizes in the forward depend on the values after {explained(call)}: the layers after it are "
            "counted for what passed on this trace's input (zeros), and may differ on real data")
