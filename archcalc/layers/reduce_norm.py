"""vector_norm: the Euclidean (2-)norm over one axis or several, `x.norm(p=2, dim, keepdim)`.

ConvNeXt V2's Global Response Normalization (timm 1.0.31 layers/grn.py, GlobalResponseNorm; CSATv2's blocks
use it too) takes each channel's norm over the spatial axes, `x.norm(p=2, dim=(1, 2), keepdim=True)` on
channels-last [H, W, C] -> [1, 1, C]. Axes and keepdim as the other reductions (layers/reduce.py).

    {type: vector_norm, axis: [0, 1], keepdim: true}

N is the number of elements reduced into one output.

    flops        2 * numel(in): per output, N squares, N − 1 adds and a square root
    connections  numel(in): each output reads its N elements

Receptive field: as the other reductions (identity only over the channels of a map with keepdim).

Peers: fvcore has no handle for aten::linalg_vector_norm, torch's FlopCounterMode no formula (0); ptflops does
not patch Tensor.norm (0); thop and torchinfo see no module with parameters (0).

Imported from Tensor.norm / torch.norm with p=2 (or 'fro', the same over one or two axes) and dims, and from
torch.linalg.vector_norm with ord=2; another p, no dim (the batch would be reduced too) or a dtype: refused.
"""

from __future__ import annotations

from typing import Any

from archcalc.layers.base import Attrs, Shape, numel, register
from archcalc.layers.formula import Const, Formula, Term, counts, product
from archcalc.layers.imports import CannotMap, ImportRule
from archcalc.layers.reduce import _names, _Reduce, axes_of


@register
class VectorNorm(_Reduce):
    name = "vector_norm"
    summary = "Euclidean norm over one axis or several (x.norm(p=2, dim)): ConvNeXt V2's global response norm"
    flops_rule = "2 * in: N squares, N - 1 adds and a square root per output"
    verb = "reduced to its 2-norm"

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return 2 * numel(ins[0])

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        every = product(Term(name, size) for name, size in zip(_names(ins[0]), ins[0]))
        return counts(flops=Const(2) * every, connections=every,
                      notes={"FLOPs": "per output: N squares, N − 1 adds and a square root"})

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_pointwise as tp

        return tp.VectorNorm(tuple(axis + 1 for axis in axes_of(self.name, a, ins[0])), a["keepdim"])

    def torch_import(self) -> tuple:
        import torch

        from archcalc import torch_pointwise as tp

        def read(call: Any, order: str) -> dict:
            b = call.bind("input", order, "dim", "keepdim", "dtype", keepdim=False, dtype=None,
                          **{order: "fro" if order == "p" else 2})  # fmt: skip
            if b[order] not in (2, 2.0, "fro"):
                raise CannotMap(f"takes the {b[order]!r}-norm; only the 2-norm is a vector_norm")
            if b["dtype"] is not None:
                raise CannotMap("converts the dtype")
            if b["dim"] is None:
                raise CannotMap("reduces every axis, the batch's too")
            dims = [b["dim"]] if isinstance(b["dim"], int) else list(b["dim"])
            if b[order] == "fro" and len(dims) > 2:
                raise CannotMap("takes the Frobenius norm over more than two axes")
            return {"axis": [call.axis(d) for d in dims], "keepdim": bool(b["keepdim"])}

        def built(call: Any) -> dict:
            return {"axis": [d - 1 for d in call.module.dim], "keepdim": call.module.keepdim}

        return (ImportRule(self.name, modules=(tp.VectorNorm,), read=built),
                ImportRule(self.name, functions=(torch.Tensor.norm, torch.norm), read=lambda call: read(call, "p"),
                           note="p=2 or 'fro', over given axes"),
                ImportRule(self.name, functions=(torch.linalg.vector_norm,), read=lambda call: read(call, "ord"),
                           note="ord=2, over given axes"))  # fmt: skip
