"""Position tables resized on every call: tensors computed from parameters alone by interpolation, tiling and
sums, followed like the gathered biases of derived.py (they are weight-derived values too).

timm computes some position tables in forward, from the parameters and the input's grid:

    NaFlexViT (learned)     F.interpolate(self.pos_embed.permute(0, 3, 1, 2), size=grid, mode='bicubic',
                            antialias=True)[:, :, :gh, :gw].flatten(2).transpose(1, 2); x.add_(table)
    NaFlexViT (factorised)  pe_y = F.interpolate(self.pos_embed_y.permute(0, 2, 1), size=gh, mode='linear')
                            .permute(0, 2, 1) (pe_x alike); table = (pe_y.unsqueeze(2) + pe_x.unsqueeze(1))
                            .flatten(1, 2); x.add_(table)
    Hiera (abswin)          F.interpolate(self.pos_embed, size=grid, mode='bicubic', antialias=True)
                            + self.pos_embed_win.tile(units), flattened and added to the tokens

No input value reaches such a table: it has no batch axis, and torch makes it once per call whatever the batch.
The importer records it here (`PositionTable`: its `parts`, each one learned table [1, C, *t] interpolated or
tiled to [1, C, *size]) through `F.interpolate` and `tile` on a parameter (or a view of one), a sum of two such
tables or parameters ([1, C, *grid] each, or two 1-D tables broadcast along different axes: factorised), views
(views.VIEW_CALLS) and full slices (`[:, :n]` keeping every element), and a ViT's class-token rows: timm's
resample_abs_pos_embed (`dynamic_img_size=True`) splits `pos_embed[:, :k]` from `pos_embed[:, k:]`, resizes the
latter and joins them again with `torch.cat` (the table's `prefix`); and the call adding it to the tokens maps
through a rule for `position_table` operands (layers/resized_position.py, which decides whether the table is one
of the forms it counts). Anything else stays unsupported, holding the parameters.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from archcalc.layers.elementwise import addition_functions

T = torch.Tensor
_INTERPOLATE = (F.interpolate,)
_TILE = (T.tile, torch.tile)
_GETITEM = (operator.getitem, T.__getitem__)
_JOIN = (torch.cat, torch.concat, torch.concatenate)


@dataclass(frozen=True)
class Part:
    """One learned table [1, C, *table] made [1, C, *size]: interpolated (`mode`), tiled, or as it is."""

    weight: torch.Tensor
    channels: int
    table: tuple[int, ...]
    size: tuple[int, ...]
    mode: str | None = None
    antialias: bool = False
    align_corners: bool | None = None
    tiled: bool = False
    axis: int = 0  # factorised: the grid axis this 1-D table spans
    elements: int | None = None  # the elements of the weight it is made from (None: all; a slice: its share)


@dataclass(frozen=True)
class PositionTable:
    kind: ClassVar[str] = "position_table"
    parts: tuple[Part, ...]
    shape: tuple[int, ...]
    factorized: bool = False
    # Slices of parameters kept as they are ((weight, elements)): `pos_embed[:, :k]`, a ViT's class-token rows,
    # which `torch.cat` puts in front of the resized table (`prefix` rows along the token axis).
    pieces: tuple[tuple[torch.Tensor, int], ...] = ()
    prefix: int = 0

    def weights(self) -> tuple[torch.Tensor, ...]:
        return tuple(p.weight for p in self.parts) + tuple(weight for weight, _ in self.pieces)

    def what(self) -> str:
        """The operand in words, for a call no rule maps."""
        if not self.parts:
            return "an operand is a slice of a parameter (its rows kept as they are, computed from weights alone)"
        return "an operand is a position table made from parameters in forward (interpolated or tiled)"


def _slices(key: Any, shape: tuple[int, ...]) -> list[bool] | None:
    """Per axis of a key of step-1 slices, whether it keeps the whole axis; None for any other key."""
    keys = key if isinstance(key, tuple) else (key,)
    if not keys or len(keys) > len(shape) or any(not isinstance(k, slice) or k.step not in (None, 1) for k in keys):
        return None
    if any(not isinstance(v, (int, type(None))) or isinstance(v, bool) for k in keys for v in (k.start, k.stop)):
        return None
    return [range(size)[k] == range(size) for k, size in zip(keys, shape)]


def full_slices(key: Any, shape: tuple[int, ...]) -> bool:
    """`t[:, :n]` with n at least the axis's size: every element kept, in order."""
    keys = key if isinstance(key, tuple) else (key,)
    if not keys or len(keys) > len(shape):
        return False
    for k, size in zip(keys, shape):
        if not isinstance(k, slice) or k.step not in (None, 1) or k.start not in (None, 0):
            return False
        if k.stop is not None and (not isinstance(k.stop, int) or k.stop < size):
            return False
    return True


class TableFollower:
    """Follows position tables made from parameters; `values` is derived.py's record of weight-derived values."""

    def __init__(self, values: dict[int, Any], bases: dict[int, torch.Tensor], buffer_ids: set[int]) -> None:
        self.values, self.bases, self.buffer_ids = values, bases, buffer_ids

    def _parameter(self, t: Any) -> torch.Tensor | None:
        """The parameter `t` is all of, viewed (not a buffer)."""
        if not isinstance(t, torch.Tensor) or id(t) not in self.bases:
            return None
        base = self.bases[id(t)]
        return base if id(base) not in self.buffer_ids and base.numel() == t.numel() else None

    def absorb(self, call: Any, operands: list[torch.Tensor], out: torch.Tensor, is_view: bool) -> bool:
        target = call.target
        if is_view and len(operands) == 1 and isinstance(self.values.get(id(operands[0])), PositionTable):
            self.values[id(out)] = replace(self.values[id(operands[0])], shape=tuple(out.shape))
            return True
        if _known(target, _GETITEM) and len(call.args) == 2 and full_slices(call.args[1], tuple(call.args[0].shape)):
            source = call.args[0]
            if isinstance(self.values.get(id(source)), PositionTable):
                self.values[id(out)] = replace(self.values[id(source)], shape=tuple(out.shape))
                return True
            if self._parameter(source) is not None:
                self.bases[id(out)] = self.bases[id(source)]
                return True
            return False
        if _known(target, _GETITEM) and len(call.args) == 2 and self._parameter(call.args[0]) is not None:
            whole = _slices(call.args[1], tuple(call.args[0].shape))
            if whole is None or whole.count(False) != 1 or out.numel() == 0:
                return False  # rows of a parameter (`pos_embed[:, 1:]`), kept as they are until resized or joined
            pieces = ((self._parameter(call.args[0]), out.numel()),)
            self.values[id(out)] = PositionTable((), tuple(out.shape), pieces=pieces)  # type: ignore[arg-type]
            return True
        if _known(target, _JOIN):
            table = self._joined(call, out)
            if table is None:
                return False
            self.values[id(out)] = table
            return True
        if _known(target, _INTERPOLATE) or _known(target, _TILE):
            part = self._resized(call, out)
            if part is None:
                return False
            self.values[id(out)] = PositionTable((part,), tuple(out.shape))
            return True
        if _known(target, addition_functions()) and target is not T.add_ and len(operands) == 2 and not call.kwargs:
            table = self._sum(operands[0], operands[1], tuple(out.shape))
            if table is None:
                return False
            self.values[id(out)] = table
            return True
        return False

    def _resized(self, call: Any, out: torch.Tensor) -> Part | None:
        """F.interpolate or tile on a [1, C, *t] parameter (or a slice of one's rows)."""
        source = call.args[0] if call.args else call.kwargs.get("input")
        weight, elements = self._parameter(source), None
        record = self.values.get(id(source)) if isinstance(source, torch.Tensor) else None
        if isinstance(record, PositionTable) and not record.parts and len(record.pieces) == 1:
            weight, elements = record.pieces[0]
        if weight is None or source.dim() < 3 or source.shape[0] != 1 or tuple(out.shape[:2]) != tuple(source.shape[:2]):
            return None
        channels, table, size = source.shape[1], tuple(source.shape[2:]), tuple(out.shape[2:])
        if len(size) != len(table):
            return None
        if _known(call.target, _TILE):
            return Part(weight, channels, table, size, tiled=True, elements=elements)
        names = ("input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "antialias")
        bound = dict(zip(names, call.args)) | call.kwargs
        if set(bound) - set(names):
            return None
        return Part(weight, channels, table, size, bound.get("mode", "nearest"), bool(bound.get("antialias", False)),
                    bound.get("align_corners"), elements=elements)  # fmt: skip

    def _joined(self, call: Any, out: torch.Tensor) -> PositionTable | None:
        """`torch.cat([rows, table], dim=1)`: a parameter's leading rows kept as they are, in front of the rest of
        that parameter resized (timm's resample_abs_pos_embed with class-token rows)."""
        parts = call.args[0] if call.args else call.kwargs.get("tensors")
        dim = call.args[1] if len(call.args) > 1 else call.kwargs.get("dim", call.kwargs.get("axis", 0))
        if not isinstance(parts, (list, tuple)) or len(parts) != 2 or dim not in (1, -2) or out.dim() != 3:
            return None
        rows, table = (self.values.get(id(t)) if isinstance(t, torch.Tensor) else None for t in parts)
        if not isinstance(rows, PositionTable) or not isinstance(table, PositionTable) or rows.parts or table.pieces:
            return None
        if len(rows.pieces) != 1 or len(table.parts) != 1 or table.parts[0].elements is None or table.prefix:
            return None
        (weight, kept), part = rows.pieces[0], table.parts[0]
        if part.weight is not weight or kept + part.elements != weight.numel() or parts[0].shape[0] != 1:
            return None
        return replace(table, shape=tuple(out.shape), pieces=rows.pieces, prefix=parts[0].shape[1])

    def _operand(self, t: torch.Tensor) -> Part | torch.Tensor | None:
        """A one-part table still [1, C, *size] as it was made, or a parameter (a table as it is)."""
        record = self.values.get(id(t))
        if isinstance(record, PositionTable) and len(record.parts) == 1 and not record.pieces:
            return record.parts[0] if record.parts[0].elements is None else None
        return self._parameter(t)

    def _sum(self, a: torch.Tensor, b: torch.Tensor, shape: tuple[int, ...]) -> PositionTable | None:
        first, second = self._operand(a), self._operand(b)
        if first is None or second is None or (isinstance(first, T) and isinstance(second, T) and first is second):
            return None
        if tuple(a.shape) == tuple(b.shape) == shape:  # two tables of the whole grid: [1, C, *grid]
            if len(shape) < 3 or shape[0] != 1:
                return None
            parts = [p if isinstance(p, Part) else Part(p, shape[1], shape[2:], shape[2:]) for p in (first, second)]
            if any(p.channels != shape[1] or p.size != shape[2:] or p.axis for p in parts):
                return None
            return PositionTable(tuple(parts), shape)
        # two 1-D tables along different grid axes, broadcast: [.., g, .., C] + [.., 1, g', C]
        spans = [_non_one(t.shape, len(shape)) for t in (a, b)]
        common = spans[0] & spans[1]
        if len(common) != 1 or any(len(s) != 2 for s in spans):
            return None
        channel = common.pop()
        axes = [next(iter(s - {channel})) for s in spans]
        grid_axes = sorted(axes)
        parts = []
        for operand, axis in zip((first, second), axes):
            length = shape[axis]
            if isinstance(operand, T):
                operand = Part(operand, shape[channel], (length,), (length,))
            if operand.channels != shape[channel] or operand.size != (length,) or operand.tiled:
                return None
            parts.append(replace(operand, axis=grid_axes.index(axis)))
        return PositionTable(tuple(parts), shape, factorized=True)


def _non_one(shape: torch.Size, rank: int) -> set[int]:
    """The axes (aligned to `rank` from the right) where `shape` is not 1."""
    offset = rank - len(shape)
    return {offset + axis for axis, size in enumerate(shape) if size != 1}


def _known(target: Any, group: tuple) -> bool:
    try:
        return target in group
    except TypeError:  # an unhashable callable
        return False
