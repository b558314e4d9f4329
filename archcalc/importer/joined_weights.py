"""Weights joined end to end before use: BEiT's `F.linear(x, self.qkv.weight, torch.cat((self.q_bias,
self.k_bias, self.v_bias)))`, where q_bias and v_bias are parameters and k_bias a buffer of zeros.

The concatenation computes nothing per sample: its result holds exactly the elements of its parts, once each,
so the call that reads it holds those parts, as it holds a reshaped parameter (weight_views.py). The importer
records the parts here and hands the reading call every part: its layer must count the parameters among them
as parameters and the buffers as buffers (the call's `buffer_parts` says how many elements of each weight
operand are buffers: linear's `bias_buffer`). Only a concatenation of 1-D weights along axis 0 qualifies;
anything else that reads parameters stays what it was (unsupported unless a rule maps it).
"""

from __future__ import annotations

from typing import Any

import torch

JOINS = (torch.cat, torch.concat, torch.concatenate)


def joined_of(target: Any, args: tuple, kwargs: dict, bases: dict[int, torch.Tensor],
              joined: dict[int, list[torch.Tensor]]) -> list[torch.Tensor] | None:  # fmt: skip
    """The parameters and buffers `torch.cat(parts)` joins (views followed to their weight), or None."""
    try:
        if target not in JOINS:
            return None
    except TypeError:  # an unhashable callable
        return None
    if not args or not isinstance(args[0], (list, tuple)) or len(args) > 2 or set(kwargs) - {"dim", "axis"}:
        return None
    dim = args[1] if len(args) == 2 else kwargs.get("dim", kwargs.get("axis", 0))
    parts = args[0]
    if dim not in (0, -1) or not parts or any(not isinstance(t, torch.Tensor) or t.dim() != 1 for t in parts):
        return None
    found: list[torch.Tensor] = []
    for t in parts:
        if id(t) in joined:
            found += joined[id(t)]
        elif id(t) in bases and bases[id(t)].numel() == t.numel():
            found.append(bases[id(t)])
        else:
            return None
    return found
