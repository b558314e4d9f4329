"""axial_rope_table: the cos or sin table of a 2-D (axial) rotary embedding, made in forward from the patch grid.

Gemma 4's vision encoder (timm 1.0.31 models/gemma4_vit.py, Gemma4RotaryEmbedding2D) computes its RoPE tables
once per forward, for every image of the batch: for each grid axis, the angles are a matrix product of the
`inv_freq` buffer [F] with the token positions, `inv_freq[None, :, None].expand(B, -1, 1) @ pos[:, None, :]`
([B, F, 1] @ [B, 1, N]: F·N MACs per image, which fvcore and FlopCounterMode count), doubled and concatenated,
then the cosine and the sine: two [N, D] tables, D = head_dim = 4F (2 axes x 2 halves x F angles).

The module maps as a whole (its position ids are a constant, importer/constants.py): two layers reading the
tokens for their count N only, the cos table (which computes the angles and holds `inv_freq`) and the sin
table (which reuses them). The products with the queries and keys are then ordinary broadcast `mul` layers.

    {type: axial_rope_table, head_dim: 64, fn: cos, angles: true}     [N, E] -> [N, 64], holds inv_freq (16)
    {type: axial_rope_table, head_dim: 64, fn: sin}                   [N, E] -> [N, 64]

    params       0; buffers F = D/4 when `angles` (inv_freq), else 0
    MACs         2·F·N when `angles` (the two axes' angle products), else 0
    flops        2·MACs + D·N (one cosine or sine per table element)
    connections  0 (the table reads no input value)

Receptive field: None (no input value reaches the table). Peers: fvcore counts the angle products (aten::matmul:
MACs), FlopCounterMode 2 per MAC (aten::bmm); neither counts cos or sin. ptflops patches Tensor.matmul, not the
`@` operator; thop hooks modules only; torchinfo counts parameters, and there are none: 0 each.
"""

from __future__ import annotations

from typing import Any

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Choice, Int
from archcalc.layers.base import Attrs, LayerType, Params, Shape, register
from archcalc.layers.formula import Const, Formula, Term, counts
from archcalc.layers.imports import CannotMap, ImportRule

AXES = 2
_GEMMA4 = ("timm.models.gemma4_vit.Gemma4RotaryEmbedding2D",)


@register
class AxialRopeTable(LayerType):
    name = "axial_rope_table"
    summary = "the cos or sin table of a 2-D rotary embedding, made from the patch grid (Gemma 4's vision RoPE)"
    category = "other"  # not dense_macs: the sin table has none (the profiles name its products)
    attrs = (Attr("head_dim", Int(1), doc="features per head D (a multiple of 4: 2 axes x 2 halves)"),
             Attr("fn", Choice("cos", "sin"), doc="which table"),
             Attr("angles", Bool(), False, "computes the angle products and holds inv_freq (the first table)"))
    flops_rule = "2 * MACs + D * N (one cosine or sine per element)"
    connections_rule = "0"

    def validate(self, a: Attrs) -> None:
        if a["head_dim"] % (2 * AXES):
            raise ArchcalcError(f"axial_rope_table: head_dim {a['head_dim']} is not a multiple of {2 * AXES}")

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        if len(ins[0]) != 2:
            raise ArchcalcError(f"axial_rope_table: reads tokens [N, E], got {list(ins[0])}")
        return (ins[0][0], a["head_dim"])

    def frequencies(self, a: Attrs) -> int:
        return a["head_dim"] // (2 * AXES)

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(buffers=self.frequencies(a) if a["angles"] else 0)

    def macs(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return AXES * self.frequencies(a) * out[0] if a["angles"] else 0

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return 2 * self.macs(a, ins, out) + out[0] * out[1]

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return [Formula("N_out", Term("N", ins[0][0]), "one row per token"),
                Formula("D_out", Const(a["head_dim"]), "head_dim")]

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        tokens, features = Term("N", out[0]), Term("D", out[1])
        macs = Const(AXES) * Term("F", self.frequencies(a)) * tokens if a["angles"] else 0
        return counts(macs=macs, flops=(Const(2) * macs + tokens * features) if a["angles"] else tokens * features,
                      buffers=Term("F", self.frequencies(a)) if a["angles"] else None,
                      notes={"MACs": "inv_freq [F, 1] @ positions [1, N] for each of the 2 axes" if a["angles"]
                             else "none: the angles are the cos table's",
                             "FLOPs": f"one {a['fn']} per element" + (" + 2 per MAC" if a["angles"] else "")})

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        return tt.AxialRopeTable(a["head_dim"], a["fn"], a["angles"])

    def torch_import(self) -> tuple:
        from archcalc import torch_tokens as tt

        def gemma4(call: Any) -> list[dict]:
            head_dim = getattr(call.module, "head_dim", None)
            if not isinstance(head_dim, int) or head_dim % (2 * AXES):
                raise CannotMap(f"its head_dim {head_dim!r} is not a whole number of 2 axes x 2 halves")
            if [tuple(shape) for shape in call.out_shapes] != [(call.in_shapes[0][0], head_dim)] * 2:
                raise CannotMap(f"its tables {[list(s) for s in call.out_shapes]} are not two [N, head_dim] tables")
            return [{"head_dim": head_dim, "fn": "cos", "angles": True}, {"head_dim": head_dim, "fn": "sin"}]

        def built(call: Any) -> dict:
            m = call.module
            return {"head_dim": m.head_dim, "fn": m.fn, "angles": m.angles}

        return (ImportRule(self.name, modules=(tt.AxialRopeTable,), read=built),
                ImportRule(self.name, foreign=_GEMMA4, read=gemma4, per_output=True, constant_operands=True,
                           when=lambda call: len(call.in_shapes) == 1 and len(call.in_shapes[0]) == 2,
                           note="Gemma 4's vision RoPE: its cos and sin tables, the angle products counted once"))
