"""A relative-position table resized on every call (SAM's `get_rel_pos`, timm 1.0.31 vision_transformer_sam.py):
when the table has other rows than the grid needs, the forward interpolates it before gathering rows,

    F.interpolate(rel_pos.reshape(1, rows, -1).permute(0, 2, 1), size=R, mode="linear")
        .reshape(-1, R).permute(1, 0)[index]

No input value reaches it: it is computed from the weights and the input's shape alone, once per call whatever the
batch (no peer but ptflops counts it: fvcore has no handle for aten::upsample_linear1d, FlopCounterMode registers
none; ptflops' patched F.interpolate counts its output elements). `Resized` records the parameter and the rows it
is resized to while derived.py follows it through views to the gather; the layer that reads the gathered rows holds
the parameter (layers/relative_position_product.py, `table_rows`). Only this form is followed: a [rows, C]
parameter seen as [1, C, rows], resized linearly (no align_corners, no scale factor) along its rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Resized:
    table: torch.Tensor  # the parameter [rows, C]
    rows: int  # R, the rows it is resized to
    shape: tuple[int, ...]  # this tensor's shape now


def resized(call: Any, operands: list[torch.Tensor], out: torch.Tensor, bases: dict[int, torch.Tensor],
            buffer_ids: set[int]) -> Resized | None:  # fmt: skip
    """The record of `F.interpolate(table view, size=R, mode="linear")`, or None for any other call."""
    if call.is_module or call.target is not F.interpolate or len(operands) != 1:
        return None
    source = operands[0]
    table = bases.get(id(source))
    if table is None or id(table) in buffer_ids or table.dim() != 2 or source is table:
        return None
    rows, features = table.shape
    names = ("input", "size", "scale_factor", "mode", "align_corners")
    bound = dict(zip(names, call.args)) | call.kwargs
    if set(bound) - set(names) - {"recompute_scale_factor", "antialias"} or bound.get("mode") != "linear":
        return None
    if bound.get("scale_factor") is not None or bound.get("align_corners") or bound.get("antialias"):
        return None
    if tuple(source.shape) != (1, features, rows) or out.dim() != 3 or tuple(out.shape[:2]) != (1, features):
        return None
    return Resized(table, int(out.shape[2]), tuple(out.shape))
