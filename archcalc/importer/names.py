"""What the dispatcher (mapping.py) asks of a call before mapping it, and how it names layers: tensor factories
(`torch.randn` in forward), the masks torch.nn.utils.prune adds, and unique hierarchical node names."""

from __future__ import annotations

import torch

from archcalc.graph import INPUT
from archcalc.importer.outputs import tensors
from archcalc.importer.trace import Traced


def _like_factories() -> set:
    T = torch.Tensor
    return {torch.zeros_like, torch.ones_like, torch.empty_like, torch.full_like, torch.rand_like, torch.randn_like,
            torch.randint_like, T.new_zeros, T.new_ones, T.new_empty, T.new_full, T.new_tensor}  # fmt: skip


LIKE_FACTORIES = _like_factories()


def factory(call: Traced) -> bool:
    """torch.randn(...), torch.arange(n), torch.zeros_like(x): a tensor whose values no input determines."""
    try:
        if call.target in LIKE_FACTORIES:
            return True
    except TypeError:  # an unhashable callable
        return False
    return not tensors((call.args, call.kwargs))


def pruning_masks(module: torch.nn.Module) -> set[int]:
    """The mask buffers torch.nn.utils.prune added to this module (`weight_mask` beside `weight_orig`)."""
    from torch.nn.utils.prune import BasePruningMethod

    hooks = [hook for hook in module._forward_pre_hooks.values() if isinstance(hook, BasePruningMethod)]
    return {id(getattr(module, f"{hook._tensor_name}_mask")) for hook in hooks
            if isinstance(getattr(module, f"{hook._tensor_name}_mask", None), torch.Tensor)}  # fmt: skip


class Names:
    """Unique hierarchical node names: a leaf never doubles as a group, nothing is called `input`."""

    def __init__(self) -> None:
        self.leaves: set[str] = set()
        self.groups: set[str] = set()

    def claim(self, wanted: str) -> str:
        parts = [("input_" if part == INPUT else part) or "_" for part in wanted.split(".")]
        for cut in range(1, len(parts)):
            if ".".join(parts[:cut]) in self.leaves:
                parts = parts[: cut - 1] + ["_".join(parts[cut - 1 :])]
                break
        base = name = ".".join(parts)
        count = 1
        while name in self.leaves or name in self.groups:
            name, count = f"{base}_{count}", count + 1
        self.leaves.add(name)
        pieces = name.split(".")
        self.groups.update(".".join(pieces[:cut]) for cut in range(1, len(pieces)))
        return name
