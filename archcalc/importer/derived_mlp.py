"""Position-bias MLPs: a small MLP run on a constant coordinate buffer, whose output a relative-position index
gathers into an attention bias (followed with the gathered biases of derived.py).

timm's RelPosMlp (vit_relpos_*: `self.mlp(self.rel_coords_log)`, then `.view(-1, H)[relative_position_index]`)
and Swin V2's cpb_mlp compute the bias table on every call from a coordinate buffer [*, r] by Linear(r, h),
ReLU, Linear(h, H) (dropouts and identities in between do nothing at inference). No input value reaches it: it costs
the same once per call whatever the batch. `CoordinateMlp` records the chain while it is followed; a gather from
its output is a `Gathered` whose `mlp` says [r, h] and which linears have biases, and whose weights are the
linears' parameters and the coordinate buffer (layers/relative_position.py counts them).
Any other chain (another activation, a norm, a third linear) is left to the ordinary rules (unsupported).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn



def passes(module: object) -> bool:
    """A module that returns its input at inference: nn.Identity, a dropout (counted as identity, as everywhere)."""
    return isinstance(module, (nn.Identity, nn.Dropout))


@dataclass(frozen=True)
class CoordinateMlp:
    """The MLP followed so far: its steps ("linear", "relu"), linears as (in, out, has bias), and weights."""

    coordinates: torch.Tensor  # the coordinate buffer
    steps: tuple[str, ...]
    linears: tuple[tuple[int, int, bool], ...]
    weights: tuple[torch.Tensor, ...]
    shape: tuple[int, ...]

    def complete(self) -> bool:
        """Linear(r, h), ReLU, Linear(h, H): the pattern the layer rules count."""
        return self.steps == ("linear", "relu", "linear") and self.shape[-1] == self.linears[1][1]

    def summary(self) -> tuple[list[int], list[int]]:
        """([r, h], [bias of the first linear, bias of the second])."""
        (r, h, b1), (_, _, b2) = self.linears
        return [r, h], [int(b1), int(b2)]


def step(module: object, operand: torch.Tensor, coordinates: bool, known: CoordinateMlp | None,
         out: torch.Tensor) -> CoordinateMlp | None:  # fmt: skip
    """The chain after `module(operand)`: `coordinates` says the operand is a float buffer; `known` the chain it
    continues. None when the call is no step of a position-bias MLP."""
    if isinstance(module, nn.Linear):
        if known is None and not (coordinates and operand.is_floating_point()):
            return None
        if known is not None and known.steps != ("linear", "relu"):
            return None
        start = known or CoordinateMlp(operand, (), (), (operand,), ())
        linear = (module.in_features, module.out_features, module.bias is not None)
        return replace(start, steps=start.steps + ("linear",), linears=start.linears + (linear,),
                       weights=start.weights + tuple(module.parameters()), shape=tuple(out.shape))  # fmt: skip
    if known is None:
        return None
    if isinstance(module, nn.ReLU) and known.steps == ("linear",):
        return replace(known, steps=known.steps + ("relu",), shape=tuple(out.shape))
    if passes(module):
        return replace(known, shape=tuple(out.shape))
    return None
