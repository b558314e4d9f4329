"""A parameter table multiplied by a constant: Gemma 4's position embedding looked up by a one-hot matrix product.

timm 1.0.31 models/gemma4_vit.py, Gemma4PatchEmbed._position_embeddings:

    one_hot = F.one_hot(position_ids.clamp(min=0), num_classes=P).permute(0, 2, 1, 3).to(table)  # [B, A, N, P]
    position_embeddings = (one_hot @ self.position_embedding_table).sum(dim=1)                   # [B, N, D]
    x = x + position_embeddings

The one-hot matrix is a constant (made from the patch grid, constants.py), so the product is computed from a
weight and the input's shape alone: no layer yet. It is followed here (`OneHotLookup`, kept with the other
weight-derived values of derived.py) through the sum over the A axes, and the add that puts it on the tokens
maps through a rule that reads it (layers/one_hot_position.py): a layer holding the table and counting the
dense product as torch runs it, A·N·P·D MACs, though each token only picks A rows.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, replace
from typing import Any

import torch

T = torch.Tensor
_PRODUCTS = (operator.matmul, torch.matmul, T.matmul, T.__matmul__)
_SUMS = (torch.sum, T.sum)


@dataclass(frozen=True)
class OneHotLookup:
    """`constant [B, A, N, P] @ table [A, P, D]`, then perhaps summed over A."""

    table: torch.Tensor  # the parameter [A, P, D]
    shape: tuple[int, ...]  # this tensor's shape
    summed: bool = False  # the A looked-up rows summed (`.sum(dim=1)`)
    one_hot = True  # what the add rules tell it from a gathered bias by
    heads_first = False  # (derived.py's view following replaces it)

    def weights(self) -> tuple[torch.Tensor, ...]:
        return (self.table,)


def one_hot_step(call: Any, values: dict[int, Any], constants: Any, bases: dict[int, torch.Tensor],
                 out: torch.Tensor) -> OneHotLookup | None:  # fmt: skip
    """The record of `out` when the call makes or sums a lookup, else None."""
    if call.is_module or call.kwargs.keys() - {"dim"}:
        return None
    args = call.args
    if call.target in _PRODUCTS and len(args) == 2 and not call.kwargs:
        coefficients, table = args
        if not (isinstance(coefficients, torch.Tensor) and constants.is_constant(coefficients)):
            return None
        table = bases.get(id(table)) if isinstance(table, torch.Tensor) else None
        if table is None or table is not args[1] or table.dim() != 3 or coefficients.dim() != 4:
            return None
        if coefficients.is_floating_point() and tuple(coefficients.shape[1:]) == (table.shape[0], out.shape[2],
                                                                                   table.shape[1]):  # fmt: skip
            return OneHotLookup(table, tuple(out.shape))
        return None
    if call.target in _SUMS and args and id(args[0]) in values:
        found = values[id(args[0])]
        dim = call.kwargs.get("dim", args[1] if len(args) > 1 else None)
        if isinstance(found, OneHotLookup) and not found.summed and len(args) <= 2 and dim in (1, -3):
            return replace(found, summed=True, shape=tuple(out.shape))
    return None
