"""Weight-derived values computed element by element from one parameter (followed with derived.py's gathers).

Models compute on a parameter before they use it, on every call:

    torch.clamp(self.logit_scale, max=math.log(1. / 0.01)).exp()         Swin V2, Swin V2-CR ([H, 1, 1])
    (1. - torch.sigmoid(gating)) * patch_score + torch.sigmoid(gating) * pos_score     ConViT
    alpha = torch.sigmoid(self.alpha).view(4, -1, 1, 1); ... alpha[0] * branch         EfficientViM

No input value reaches the result: a batch computes it once. `Computed` records the parameter, the functions
applied so far (layers/weight_fn.py names them), the row taken (`alpha[i]` of a [R, ...] parameter) and the
shape now; views of it (weight_views.VIEW_CALLS) are followed as for a gathered bias. The call that multiplies or
adds it into an activation reads it through a rule with `gathered_operands` (parameter_op's: `fn`, `rows`), which
counts the functions once per call. Anything else that reads it is unsupported, holding the parameter.

What qualifies as a step: a function of one tensor below (a number for its other argument, never a tensor) on
a parameter, a reshaped view of one, or a tensor already computed this way; `t[i]` with one integer on the first
axis of a [R, ...] parameter, once. A buffer computed on is a constant (constants.py), not this.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F

T = torch.Tensor
_NUMBER = (int, float)


def _one(target: Any, names: tuple[str, ...]) -> bool:
    return any(target is getattr(torch, n, None) or target is getattr(T, n, None) for n in names)


@dataclass(frozen=True)
class Computed:
    """A tensor computed from one parameter by element-wise functions (then perhaps rearranged, or a row taken)."""

    parameter: torch.Tensor
    steps: tuple[str, ...]
    shape: tuple[int, ...]
    broadcast_shape: tuple[int, ...]  # the shape as it broadcasts: an axis `expand` stretched counts as 1
    rows: int | None = None  # the operand is one of the parameter's `rows` rows
    chain: int = 0  # the id of the tensor the last function returned: readers of one chain share its cost
    softmax_group: int | None = None  # the size of the axis a softmax of the chain ran over
    reused: bool = False  # set for the reader: an earlier reader of this chain counted it
    kind: str = "computed"

    def weights(self) -> tuple[torch.Tensor, ...]:
        return (self.parameter,)


def _shapes(out: torch.Tensor) -> dict:
    return {"shape": tuple(out.shape),
            "broadcast_shape": tuple(1 if stride == 0 else size for size, stride in zip(out.shape, out.stride()))}


def fresh(parameter: torch.Tensor, step: str, out: torch.Tensor, group: int | None = None) -> Computed:
    return Computed(parameter, (step,), chain=id(out), softmax_group=group, **_shapes(out))


def further(known: Computed, step: str | None, out: torch.Tensor, group: int | None = None) -> Computed:
    """`known` after one more function (None: a view); `group`: a softmax's axis size."""
    if step is None:
        return replace(known, **_shapes(out))
    return replace(known, steps=known.steps + (step,), chain=id(out), softmax_group=group or known.softmax_group,
                   **_shapes(out))  # fmt: skip


def softmax_group(target: Any, args: tuple, kwargs: dict, operand: torch.Tensor) -> int | None:
    """The size of the axis `softmax(operand, dim)` runs over, or None when the call is no such softmax."""
    if not (_one(target, ("softmax",)) or target is F.softmax) or set(kwargs) - {"dim"} or len(args) > 2:
        return None
    dim = args[1] if len(args) == 2 else kwargs.get("dim")
    if isinstance(dim, bool) or not isinstance(dim, int) or not -operand.dim() <= dim < operand.dim():
        return None
    return operand.shape[dim]


def step_of(target: Any, args: tuple, kwargs: dict, operand: torch.Tensor) -> str | None:
    """The weight_fn name of `target(*args, **kwargs)` on `operand` (its one tensor), or None."""
    others = [a for a in list(args) + list(kwargs.values()) if a is not operand]
    if any(not isinstance(a, _NUMBER) or isinstance(a, bool) for a in others if a is not None):
        return None
    if not args or (args[0] is not operand and target not in _SUB + _MUL + _ADD):
        return None
    if _one(target, ("sigmoid",)) and len(args) == 1 and not kwargs:
        return "sigmoid"
    if _one(target, ("exp", "log")) and len(args) == 1 and not kwargs:
        return target.__name__
    if _one(target, ("clamp", "clip")) and set(kwargs) <= {"min", "max"}:
        bounds = dict(zip(("min", "max"), args[1:])) | kwargs
        given = [name for name in ("min", "max") if bounds.get(name) is not None]
        return {("min",): "clamp_min", ("max",): "clamp_max", ("min", "max"): "clamp"}.get(tuple(given))
    if _one(target, ("clamp_min", "clamp_max")) and len(args) == 2 and not kwargs:
        return target.__name__
    if len(args) != 2 or kwargs:
        return None
    first = args[0] is operand
    if target in (torch.rsub, T.__rsub__):  # rsub(w, c) = c - w
        return "rsub" if first else None
    if target in _SUB:
        return "shift" if first else "rsub"  # w - c, c - w
    if target in _MUL:
        return "scale"
    if target in _ADD:
        return "shift"
    return None


_SUB = (operator.sub, torch.sub, T.sub, T.__sub__)
_MUL = (operator.mul, torch.mul, T.mul, T.__mul__, T.__rmul__)
_ADD = (operator.add, torch.add, T.add, T.__add__, T.__radd__)


def row_of(known: Computed, key: Any, source: torch.Tensor, out: torch.Tensor) -> Computed | None:
    """`t[i]` on the first axis, matching the parameter's first axis: one of its rows."""
    if isinstance(key, bool) or not isinstance(key, int) or known.rows is not None:
        return None
    rows = known.parameter.shape[0] if known.parameter.dim() >= 1 else 0
    if not rows or source.dim() < 1 or source.shape[0] != rows or not -rows <= key < rows:
        return None
    return replace(known, rows=rows, **_shapes(out))
