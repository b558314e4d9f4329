"""Weights the forward does not use for the traced input, grouped by the module that holds them.

GoogLeNet and Inception v3 keep auxiliary classifiers that run only in training; in eval mode no call reads
their weights. They are named by the outermost module whose parameters and buffers all went unused (`aux1`,
`AuxLogits`), or by the parameter's own name when its module is used otherwise, and become the graph's
`unused` entries: counted in the totals (as sum(p.numel()) counts them), in no row, with no MACs.
"""

from __future__ import annotations

import torch

from archcalc.graph import UnusedWeights


def unused_weights(model: torch.nn.Module, counted: set[int]) -> tuple[UnusedWeights, ...]:
    """`counted`: ids of the parameters and buffers some layer holds."""
    buffers = {id(t) for t in model.buffers()}
    claimed: set[int] = set()
    found: list[UnusedWeights] = []

    def entry(name: str, tensors: list[torch.Tensor]) -> None:
        fresh = {id(t): t for t in tensors if id(t) not in claimed}
        claimed.update(fresh)
        params = [t for key, t in fresh.items() if key not in buffers]
        found.append(UnusedWeights(name, params=sum(t.numel() for t in params),
                                   frozen=sum(t.numel() for t in params if not t.requires_grad),
                                   buffers=sum(t.numel() for key, t in fresh.items() if key in buffers)))  # fmt: skip

    for name, module in model.named_modules():  # parents first: the outermost wholly unused module names them
        if not name or any(name.startswith(prefix + ".") for prefix in (u.name for u in found)):
            continue
        held = list(module.parameters()) + list(module.buffers())
        if held and all(id(t) not in counted and id(t) not in claimed for t in held):
            entry(name, held)
    for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
        if id(tensor) not in counted and id(tensor) not in claimed and tensor.numel():
            entry(name, [tensor])
    return tuple(u for u in found if u.params or u.buffers)
