"""Parameters reshaped before use: `cls_token.expand(B, -1, -1)`, `gamma.reshape(1, -1, 1, 1)`.

A model often reshapes a parameter (or buffer) before the operation that uses it: ViT's class token is
expanded to the batch and then concatenated, ConvNeXt's layer scale is reshaped to [1, C, 1, 1] and then
multiplied in. The reshape computes nothing; its result still holds exactly the parameter's elements, so
the operation that reads it holds the parameter (its rule sees the reshaped tensor, and the parameter count
is checked against the parameter itself). Only calls that keep every element once qualify: a slice, an
index or arithmetic on a parameter is not a view of it and stays unsupported unless a rule maps it.
"""

from __future__ import annotations

from typing import Any

import torch

T = torch.Tensor
# Calls that only rearrange (or broadcast) their one tensor operand.
VIEW_CALLS = {T.expand, T.expand_as, T.reshape, T.view, T.unsqueeze, T.squeeze, T.flatten, T.permute,
              T.transpose, T.contiguous, T.to, T.type_as, T.float, torch.reshape, torch.flatten, torch.unsqueeze,
              torch.squeeze, torch.permute, torch.transpose}  # fmt: skip


def is_view_call(target: Any) -> bool:
    try:
        return target in VIEW_CALLS
    except TypeError:  # an unhashable callable
        return False


def view_of(target: Any, operands: list[torch.Tensor], bases: dict[int, torch.Tensor], output: Any) -> Any:
    """The parameter or buffer that `target(*operands)` rearranges, or None. `bases` maps the id of every
    parameter, buffer and earlier view to its parameter. `expand_as(x)` reads x only for its shape."""
    if not is_view_call(target) or not isinstance(output, torch.Tensor) or not operands:
        return None
    own = operands[:1] if target is T.expand_as or target is T.type_as else operands
    if len(own) != 1 or id(own[0]) not in bases:
        return None
    return bases[id(own[0])]


def spare_buffers(model: torch.nn.Module, path: str, read: list[torch.Tensor], counted: set[int]) -> list:
    """The buffers of the module whose forward makes a functional call (`path`) that the call does not read
    and no layer holds yet: bookkeeping such as num_batches_tracked, which timm's BatchNormAct2d keeps (it is
    an nn.BatchNorm2d) but whose F.batch_norm call never reads at inference. They belong to that call's layer
    when the layer type counts them (batchnorm: 2C + 1 buffers)."""
    try:
        owner = model.get_submodule(path) if path else model
    except AttributeError:
        return []
    reading = {id(t) for t in read}
    return [b for b in owner.buffers(recurse=False) if id(b) not in reading and id(b) not in counted]
