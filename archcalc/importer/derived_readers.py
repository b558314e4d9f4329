"""How a call that reads weight-derived values (derived.py) picks the rules that may read them, and sees an
additive mask on a gathered bias per sample (Hugging Face Swin's shifted-window mask, expanded to the batch's
windows)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from archcalc.layers.imports import CannotMap


def takes(accepted: bool | str, kinds: set[str]) -> bool:
    """Whether a rule's `gathered_operands` takes records of these kinds (True: gathered biases and tensors computed
    from a parameter, whose rules' `when` tells them apart; a name: only records of that kind, derived_tables.py)."""
    if accepted is True:
        return kinds <= {"gathered", "computed"}
    return bool(accepted) and kinds == {accepted}


def mask_per_sample(bias: Any, activation: torch.Tensor, layout: Any, batch: int) -> Any:
    """The additive mask's shape for one sample: its leading axis holds the batch as the activation's does (the
    windows of every sample, B·nW, when the batch is merged into them), or it broadcasts over the batch."""
    if getattr(bias, "mask", None) is None:  # only a gathered bias (derived.Gathered) carries a mask
        return bias
    mask = bias.mask
    if len(mask) < activation.dim():  # aligned from the right: no axis of the batch
        return replace(bias, mask=mask)
    if layout.axis != 0:
        raise CannotMap("a mask added to the gathered bias, on a tensor whose batch is not in front")
    lead = mask[0]
    if layout.merged and lead not in (1, activation.shape[0]) or not layout.merged and lead not in (1, batch):
        raise CannotMap(f"a mask of shape {list(mask)} added to the gathered bias does not follow the batch")
    if layout.merged:
        return replace(bias, mask=(lead // batch if lead > 1 else 1,) + mask[1:])
    return replace(bias, mask=mask[1:])
