"""Where the batch axis is in a traced tensor, and how each call moves it.

Every archcalc layer works on one sample (its shapes leave the batch out), and most tensors of a model
keep the batch in front. Custom attention code moves it: timm's
`qkv.reshape(B, N, 3, H, D).permute(2, 0, 3, 1, 4)` puts it at position 1, and window attention
(`x.view(B, H//ws, ws, W//ws, ws, C).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws*ws, C)`) merges it with the
window count into one axis of size B·nW. Both still compute each sample on its own, so the importer
follows the batch (a `Layout`) and hands the rules the per-sample view:

- a standalone batch axis at position p: the sample is the tensor without axis p;
- a batch merged as the OUTERMOST factor of axis p (size B·s): the sample has s there. Row-major memory
  puts sample b's s entries together, so [B·nW, N, C] is, per sample, [nW, N, C].

The layout of an output comes from the call's semantics, never from sizes alone (the trace batch is 2, and
so are many axes):

- permute / transpose move it with the axes;
- reshape / view / flatten / unflatten / squeeze / unsqueeze keep the elements in order: the batch lands on
  the output axis q whose preceding axes hold as many elements as the input's did before the batch, and
  whose size is a multiple of B (standalone when it equals B, merged otherwise); no such axis means the
  batch became an inner factor, which mixes samples: unsupported;
- repeat_interleave(r, dim) of the batch axis keeps each sample's r copies together: the batch is merged
  into that axis (GCViT's global query repeated over the image's windows);
- unbind / select / an integer index drop an axis (the batch's position shifts if that axis was before
  it); slices and None in an index keep or shift it; indexing the batch itself is unsupported;
- any other call (elementwise, linear, norm, softmax, matmul, chunk, split, ...) on operands whose batch is
  not in front must keep every axis up to and including the batch axis, with the batch at the same place
  counted from the end in every activation operand: the output keeps it there. Anything else (a sum over
  the batch, a reduction that drops an earlier axis) stays unsupported, saying why.

Tensors with the batch in front keep today's path: a call on them only gets a derived layout when it is
one of the moving calls above and the derivation succeeds; otherwise the output must have the batch in
front, as before. Rules see `Call.in_shapes` / `out_shape` per sample, `Call.axis()` turns a real dim into a
sample axis through the layout, and permute's dims and getitem's index are rewritten here into the form
they would have on a batch-in-front tensor (so those readers are unchanged).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from math import prod
from typing import Any

import torch
from torch import nn

from archcalc.layers.imports import CannotMap

T = torch.Tensor
FULL = slice(None)


@dataclass(frozen=True)
class Layout:
    axis: int = 0  # the axis holding the batch
    merged: bool = False  # the batch is the outermost factor of that axis (size B·s), not the whole axis

    @property
    def front(self) -> bool:
        return self.axis == 0 and not self.merged

    def describe(self) -> str:
        return f"merged into axis {self.axis}" if self.merged else f"at axis {self.axis}"


FRONT = Layout()


def sample_shape(shape: tuple[int, ...], layout: Layout, batch: int) -> tuple[int, ...] | None:
    """The shape of one sample, or None when the tensor has no batch where the layout says."""
    if layout.front:
        return tuple(shape[1:]) if len(shape) >= 2 and shape[0] == batch else None
    if layout.axis >= len(shape):
        return None
    size = shape[layout.axis]
    if layout.merged:
        return None if size % batch else shape[: layout.axis] + (size // batch,) + shape[layout.axis + 1 :]
    return None if size != batch else shape[: layout.axis] + shape[layout.axis + 1 :]


@dataclass
class Plan:
    """How a call sees the batch: the layout of its (first) input, of each output, and the arguments a rule
    reads (permute's dims and getitem's index in their batch-in-front form)."""

    input: Layout
    outputs: list[Layout]
    args: tuple
    kwargs: dict = field(default_factory=dict)
    reason: str = ""  # why a moving call on a batch-in-front tensor could not be followed (for the message)
    # The function whose rules read the call, when not its own: a flatten / unflatten / squeeze that moves
    # the batch is, per sample, a reshape to the output's sample shape (its dims would count the batch).
    target: Any = None


PERMUTES = {torch.permute, T.permute}
TRANSPOSES = {torch.transpose, T.transpose, torch.swapaxes, T.swapaxes, torch.swapdims, T.swapdims}
RESHAPES = {torch.reshape, T.reshape, T.view, torch.flatten, T.flatten, T.unflatten, torch.unflatten, torch.squeeze,
            T.squeeze, torch.unsqueeze, T.unsqueeze, T.view_as, T.reshape_as}  # fmt: skip
RESHAPE_MODULES = (nn.Flatten, nn.Unflatten)
INDEXES = {operator.getitem, T.__getitem__}
REPEATS = {T.repeat_interleave}  # the method form, which the expand rule reads (layers/stack.py)
DROPS = {torch.unbind: 0, T.unbind: 0, torch.select: None, T.select: None}  # dim's default (select has none)


def follow(target: Any, is_module: bool, args: tuple, kwargs: dict, activations: list[torch.Tensor],
           layouts: list[Layout], outputs: list[torch.Tensor], batch: int,
           unknown: set[int] | frozenset = frozenset()) -> Plan:  # fmt: skip
    """The plan of one call, or CannotMap when the batch would stop being one sample's own axis. `unknown`:
    the ids of operands from unmapped calls, whose leading 2 may be no batch: a batch-in-front call on one
    keeps today's path, and the others' layouts ignore it."""
    unchanged = Plan(FRONT, [FRONT] * len(outputs), args, kwargs)
    if not activations:
        return unchanged
    source, layout = activations[0], layouts[0]
    if all(item.front for item in layouts):
        if any(id(t) in unknown for t in activations) or source.dim() < 2 or source.shape[0] != batch:
            return unchanged  # no batch to follow (a table computed from weights alone)
        try:  # a moving call on a batch-in-front tensor: derive; anything else keeps today's path
            plan = _moved(target, is_module, args, kwargs, source, layout, outputs, batch)
        except CannotMap as exc:
            return Plan(FRONT, unchanged.outputs, args, kwargs, str(exc))
        return plan if plan is not None and not all(item.front for item in plan.outputs) else unchanged
    plan = _moved(target, is_module, args, kwargs, source, layout, outputs, batch)
    if plan is not None:
        return plan
    known = [i for i, t in enumerate(activations) if id(t) not in unknown]
    kept = _kept(args, kwargs, [activations[i] for i in known], [layouts[i] for i in known], outputs)
    return Plan(layout, kept.outputs, args, kwargs)


def _moved(target: Any, is_module: bool, args: tuple, kwargs: dict, source: torch.Tensor, layout: Layout,
           outputs: list[torch.Tensor], batch: int) -> Plan | None:  # fmt: skip
    """The plan of a call that moves the batch axis (reorders, reshapes, indexing), None for any other."""
    rank = source.dim()
    if is_module:
        if isinstance(target, RESHAPE_MODULES) and len(outputs) == 1:
            return Plan(layout, [_reshaped(source.shape, layout, outputs[0].shape, batch)], args, kwargs)
        return None
    try:
        hash(target)
    except TypeError:
        return None
    if target in PERMUTES:
        rest = args[1:]
        dims = rest[0] if len(rest) == 1 and isinstance(rest[0], (tuple, list)) else rest
        dims = [int(d) % rank for d in kwargs.get("dims", dims)]
        if sorted(dims) != list(range(rank)):
            raise CannotMap(f"permute dims {dims} are not a permutation of {rank} axes")
        moved = Layout(dims.index(layout.axis), layout.merged)
        sample = dims if layout.merged else [d - (d > layout.axis) for d in dims if d != layout.axis]
        canonical = (0, *[d + 1 for d in sample])
        return Plan(layout, [moved], (args[0], canonical), {k: v for k, v in kwargs.items() if k != "dims"})
    if target in TRANSPOSES:
        names = ("input", "dim0", "dim1")
        bound = dict(zip(names, args)) | kwargs
        first, second = int(bound["dim0"]) % rank, int(bound["dim1"]) % rank
        if layout.axis in (first, second) and first != second:
            if rank == 2 and layout.front:  # CSATv2's `q @ k.transpose(-1, -2)` on [B, N]: a [B, B] product
                raise CannotMap("transposes a [B, N] tensor (one vector per sample): a product with it runs across "
                                "the batch and mixes samples, which no per-sample layer expresses")  # fmt: skip
            raise CannotMap(f"swaps the batch axis ({layout.describe()}) with axis "
                            f"{second if layout.axis == first else first}: write it as a permute")  # fmt: skip
        return Plan(layout, [layout], args, kwargs)
    if target in RESHAPES and len(outputs) == 1:
        moved = _reshaped(source.shape, layout, outputs[0].shape, batch)
        return Plan(layout, [moved], args, kwargs, target=None if layout.front and moved.front else T.reshape)
    if target in REPEATS and len(outputs) == 1:
        return _repeated(args, kwargs, layout, rank)
    if target in DROPS:
        dim = kwargs.get("dim", args[1] if len(args) > 1 else DROPS[target])
        dim = int(dim) % rank
        if dim == layout.axis:
            raise CannotMap(f"takes elements of the batch axis ({layout.describe()})")
        dropped = Layout(layout.axis - (dim < layout.axis), layout.merged)
        return Plan(layout, [dropped] * len(outputs), args, kwargs)
    if target in INDEXES and len(args) == 2 and len(outputs) == 1:
        moved, index = _indexed(args[1], rank, layout)
        return Plan(layout, [moved], (args[0], index), kwargs)
    return None


def _repeated(args: tuple, kwargs: dict, layout: Layout, rank: int) -> Plan | None:
    """repeat_interleave(r, dim) of the batch axis: each sample's r copies sit together, so the output holds the
    batch merged into that axis (GCViT's `q_global.repeat_interleave(nW, dim=0)`); along any other axis it is
    an ordinary call."""
    bound = dict(zip(("input", "repeats", "dim"), args)) | kwargs
    dim = bound.get("dim")
    if dim is None or int(dim) % rank != layout.axis:
        return None
    if layout.merged or not isinstance(bound.get("repeats"), int):
        raise CannotMap(f"repeats the batch axis ({layout.describe()}) other than by a whole number of copies")
    return Plan(layout, [Layout(layout.axis, merged=True)], args, kwargs)


def _reshaped(shape: torch.Size, layout: Layout, out: torch.Size, batch: int) -> Layout:
    """Where a reshape (which keeps the elements in row-major order) puts the batch."""
    before = prod(shape[: layout.axis])
    for axis in range(len(out)):
        if prod(out[:axis]) == before and out[axis] > 1 and out[axis] % batch == 0:
            return Layout(axis, merged=out[axis] != batch)
        if prod(out[:axis]) > before:
            break
    raise CannotMap(f"the reshape {list(shape)} -> {list(out)} makes the batch ({layout.describe()}) an inner factor "
                    "of an axis: samples would mix, which no per-sample layer expresses")  # fmt: skip


def _indexed(index: Any, rank: int, layout: Layout) -> tuple[Layout, tuple]:
    """(the output's layout, the index as it reads on a batch-in-front tensor) of a basic index."""
    items = list(index) if isinstance(index, tuple) else [index]
    for item in items:
        if isinstance(item, bool) or not (item is None or item is Ellipsis or isinstance(item, (int, slice))):
            raise CannotMap(f"indexes with {type(item).__name__} while the batch is {layout.describe()}")
    consuming = sum(item is not None and item is not Ellipsis for item in items)
    if items.count(Ellipsis) > 1 or consuming > rank:
        raise CannotMap("an index with more items than axes")
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items = items[:at] + [FULL] * (rank - consuming) + items[at + 1 :]
    else:
        items += [FULL] * (rank - consuming)
    axis = position = 0
    canonical: list = [FULL]
    found = None
    for item in items:
        if item is None:
            canonical.append(None)
            position += 1
            continue
        if axis == layout.axis:
            if item != FULL:
                raise CannotMap(f"indexes the batch axis ({layout.describe()})")
            found = position
            if layout.merged:
                canonical.append(FULL)
        else:
            canonical.append(item)
        position += isinstance(item, slice)
        axis += 1
    if found is None:
        raise CannotMap("an index that does not reach the batch axis")
    return Layout(found, layout.merged), tuple(canonical)


def _kept(args: tuple, kwargs: dict, activations: list[torch.Tensor], layouts: list[Layout],
          outputs: list[torch.Tensor]) -> Plan:  # fmt: skip
    """Any other call with the batch out of front: it must keep every axis up to the batch's."""
    reference = max(range(len(activations)), key=lambda i: activations[i].dim())
    source, layout = activations[reference], layouts[reference]
    lead = tuple(source.shape[: layout.axis + 1])
    for t, item in zip(activations, layouts):
        if t.dim() - item.axis != source.dim() - layout.axis or item.merged != layout.merged or (
                t.shape[item.axis] != source.shape[layout.axis]):  # fmt: skip
            raise CannotMap(f"its operands hold the batch at different places ({item.describe()} of {list(t.shape)}, "
                            f"{layout.describe()} of {list(source.shape)})")  # fmt: skip
    for out in outputs:
        if out.dim() != source.dim() or tuple(out.shape[: layout.axis + 1]) != lead:
            raise CannotMap(f"changes the axes up to the batch ({layout.describe()}): {list(source.shape)} -> "
                            f"{list(out.shape)} would mix samples or lose the batch")  # fmt: skip
    return Plan(layouts[0], [layout] * len(outputs), args, kwargs)
