"""Weights the forward does not use for the traced input, grouped by the module that holds them.

GoogLeNet and Inception v3 keep auxiliary classifiers that run only in training; in eval mode no call reads
their weights. They are named by the outermost module whose parameters and buffers all went unused (`aux1`,
`AuxLogits`), or by the parameter's own name when its module is used otherwise, and become the graph's
`unused` entries: counted in the totals (as sum(p.numel()) counts them), in no row, with no MACs.

A forward can replace a buffer: ConViT's GPSA registers `rel_indices` as a [1, 1, 1, 3] placeholder and its
forward assigns `self.rel_indices = self.get_rel_indices(N)`, a [1, N, N, 3] table made from the input's shape.
The model handed over holds the placeholder (what `sum(b.numel())` counts before any forward); the table is a
constant the forward made (constants.py), no weight, and the placeholder is a weight the forward did not use.
"""

from __future__ import annotations

import torch

from archcalc.graph import UnusedWeights


def made_in_forward(model: torch.nn.Module, handed: dict[str, torch.Tensor]) -> tuple[set[int], dict[str, torch.Tensor]]:
    """(ids of the parameters and buffers the forward put in place, {name: the one it replaced}), against the
    weights `handed` over before it ran (empty: nothing known, nothing replaced)."""
    if not handed:
        return set(), {}
    now = dict(model.named_parameters(remove_duplicate=False)) | dict(model.named_buffers(remove_duplicate=False))
    before = {id(t) for t in handed.values()}
    made = {id(t) for t in now.values() if id(t) not in before}
    replaced = {name: t for name, t in handed.items() if now.get(name) is not t and t is not None}
    return made, replaced


def unused_weights(model: torch.nn.Module, counted: set[int],
                   replaced: dict[str, torch.Tensor] | None = None) -> tuple[UnusedWeights, ...]:  # fmt: skip
    """`counted`: ids of the parameters and buffers some layer holds (or that are no weights); `replaced`: the
    weights the forward replaced by name (unused, whatever module holds them now)."""
    replaced = replaced or {}
    buffers = {id(t) for t in model.buffers()} | {id(t) for t in replaced.values() if not isinstance(t, torch.nn.Parameter)}
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
    for name, tensor in list(model.named_parameters()) + list(model.named_buffers()) + list(replaced.items()):
        if id(tensor) not in counted and id(tensor) not in claimed and tensor.numel():
            entry(name, [tensor])
    return tuple(u for u in found if u.params or u.buffers)
