"""A bias gathered from a parameter table by an index buffer, added to an activation: relative_position_bias.

Attention blocks of Swin, BEiT, timm's vit_relpos, CoAtNet and MaxViT (timm's RelPosBias, torchvision's
RelativePositionalMultiHeadAttention) and of LeViT, EfficientFormer(V2), EfficientViT and TinyViT
(`attention_biases[:, attention_bias_idxs]`) build a bias from a learned table on every call and add it to the
attention scores:

    bias = table[index.view(-1)].view(N, N, H).permute(2, 0, 1).unsqueeze(0)     (Swin: table [(2w−1)², H])
    bias = attention_biases[:, attention_bias_idxs]                              (LeViT: table [H, offsets])
    scores + bias

The bias is computed from weights alone: it has no batch axis and costs nothing per sample (the importer
follows it as a weight-derived value, archcalc/importer/derived.py); the layer is the add that uses it.

relative_position_bias  x + gather(table, axis, index) reshaped to `bias`
    attrs        table (the parameter's shape as indexed), index (the index buffer's shape; `index_buffer: false`:
                 an index computed in forward from the sizes alone, T5's buckets, which no buffer holds), axis (the table
                 axis the index selects), bias (the shape added; it aligns with the input from the right, as
                 torch broadcasts, and its axes beyond the input's rank must be 1: it never spans the batch),
                 head (one row of the table's other axis: EfficientViT adds head h's bias `attn_bias[h]` in its
                 h-th cascaded head; the first such layer holds the table, the others share it)
    output       the input's shape broadcast with the bias
    params       Π table (trainable; the table is a position embedding);  buffers Π index (an index, not a weight;
                 0 without `index_buffer`)
    flops        numel(out): one add per element;  macs 0
    connections  2·numel(out): the input element and one table entry
    The gather itself is bookkeeping, computed once per call whatever the batch, and not counted: fvcore has
    no handle for aten::index / aten::index_select (skipped), FlopCounterMode registers neither, and ptflops,
    thop and torchinfo count no module or function of it. The add is aten::add, which fvcore skips and
    FlopCounterMode does not register; ptflops patches torch.add and Tensor.add but not the `+` operator the
    models use; thop hooks no module here; torchinfo counts only parameters named weight or bias. So all five
    peers count 0, as for a position table added to tokens (docs/conventions.md).

relative_position_attention  F.scaled_dot_product_attention(q, k, v, attn_mask=bias) with such a bias
    (timm's CoAtNet/MaxxViT Attention2d and AttentionCl on their fused path, TinyViT; Hugging Face's T5, whose
    first layer computes the bias and hands it to every later one: those share its table): the attributes of
    scaled_dot_product_attention and the four above; the bias must broadcast to the scores [*, L, S].
    params, buffers   as relative_position_bias;  macs as scaled_dot_product_attention
    flops        scaled_dot_product_attention's terms + the bias, one add per score (attention_cost.py); with a
                 `mask` (Hugging Face Swin adds its shifted-window mask, a constant made in forward, to the bias
                 before the call), one more add per score
    peers        counted as F.scaled_dot_product_attention: fvcore has no handle for it, ptflops
                 does not patch it, thop hooks no module: 0; FlopCounterMode sees the CPU's flash kernel (no
                 formula: 0) for 4-D q, k, v with a 2-D or 4-D bias, and the math path (2 x QKᵀ's and A·V's MACs)
                 otherwise (a 3-D [H, L, S] bias: TinyViT); torchinfo as above.

Receptive field: relative_position_bias position-wise (identity); relative_position_attention mixes every
position (None).
"""

from __future__ import annotations

from dataclasses import replace

from archcalc.errors import ArchcalcError
from archcalc.layers import position_mlp
from archcalc.layers.attention import ScaledDotProductAttention
from archcalc.layers.attention_cost import AttentionGeometry, term_formulas
from archcalc.layers.attrs import Attr, Bool, Int, IntList
from archcalc.layers.base import IDENTITY, Attrs, LayerType, Params, Shape, elements, numel, register
from archcalc.layers.elementwise import addition_functions, broadcast
from archcalc.layers.formula import Formula, Term, counts, product
from archcalc.layers.imports import CannotMap, ImportRule


def added_shape(layer: str, sample: Shape, bias: Shape) -> Shape:
    """The bias as the sample sees it: torch aligns it right against [batch, *sample]; leading axes beyond the
    sample's rank must be 1 (a bias made from weights alone never spans the batch)."""
    extra = len(bias) - len(sample)
    if extra > 0:
        if any(size != 1 for size in bias[:extra]):
            raise ArchcalcError(f"{layer}: a bias of shape {list(bias)} spans the batch axis of an input "
                                f"{list(sample)}")  # fmt: skip
        bias = bias[extra:]
    return bias


@register
class RelativePositionBias(LayerType):
    name = "relative_position_bias"
    summary = "x + a bias gathered from a parameter table by an index buffer (Swin/BEiT/LeViT attention biases)"
    category = "elementwise"
    attrs = (
        Attr("table", IntList(), doc="the bias table's shape as indexed ([(2w−1)², H] in Swin, [H, offsets] in "
                                     "LeViT)"),
        Attr("index", IntList(), None, "the index buffer's shape ([N²] or [N, N]); default none: the whole table "
                                       "is the bias, rearranged (an MLP's, Swin V2-CR's meta_mlp)"),
        Attr("index_buffer", Bool(), True, "false: the index is computed in forward from the sizes alone, no buffer "
                                          "(T5's relative-position buckets, looked up with nn.Embedding)"),
        Attr("axis", Int(0), 0, "the table axis the index selects (0 in Swin, 1 in LeViT)"),
        Attr("bias", IntList(), doc="the shape of the gathered bias as added ([1, H, N, N])"),
        Attr("head", Int(0), None, "only this row of the table's other axis (one head's bias, EfficientViT's "
                                   "`attn_bias[head_idx]`); default all"),
    ) + position_mlp.ATTRS
    flops_rule = "out: one add per element (the gather is bookkeeping)"
    connections_rule = "2 * out: the input element and one table entry"

    def checked(self, a: Attrs) -> None:
        table, index, axis, bias = a["table"], a["index"], a["axis"], a["bias"]
        if axis >= len(table):
            raise ArchcalcError(f"{self.name}: axis {axis} is outside the table {list(table)}")
        if index is None and (a["mlp"] is None or a["head"] is not None):
            raise ArchcalcError(f"{self.name}: without an index the table must be an MLP's (mlp), used whole")
        gathered = numel(table) if index is None else numel(index) * numel(table) // table[axis]
        if a["head"] is not None:
            if len(table) != 2 or a["head"] >= gathered // numel(index):
                raise ArchcalcError(f"{self.name}: head {a['head']} needs a two-axis table with more rows than it "
                                    f"along the other axis, got {list(table)}")  # fmt: skip
            gathered = numel(index)
        if numel(bias) != gathered:
            raise ArchcalcError(f"{self.name}: gathering {list(index)} from a table {list(table)} along axis {axis} "
                                f"gives {gathered} elements, the bias {list(bias)} has {numel(bias)}")  # fmt: skip
        position_mlp.check(self.name, a)

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        self.checked(a)
        return broadcast(self.name, [ins[0], added_shape(self.name, ins[0], a["bias"])])

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        trainable, buffers = position_mlp.params(a)
        return Params(trainable=trainable, buffers=buffers)

    def embedding_params(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        """The table is a (relative) position embedding (one an MLP computes is not)."""
        return numel(a["table"]) if a["mlp"] is None else 0

    def macs(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return position_mlp.cost(a)[0]

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out) + position_mlp.cost(a)[1]

    def per_call(self, a: Attrs, ins: list[Shape], out: Shape) -> tuple[int, int]:
        """A position-bias MLP runs once per call (position_mlp.py)."""
        return position_mlp.cost(a)[:2]

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return 2 * numel(out) + position_mlp.cost(a)[2]

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return [Formula(f"out_{axis}", Term(f"d_{axis}", size), "the input broadcast with the bias")
                for axis, size in enumerate(out)]  # fmt: skip

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        t = position_mlp.terms(a)
        return counts(params=t["params"], buffers=t["buffers"], macs=t["macs"], flops=elements(out, "_out") + t["flops"],
                      connections=2 * elements(out, "_out") + t["connections"],
                      notes={"FLOPs": "one add per element (+ the MLP, once per call); gathering the bias is per "
                                      "call, not per sample",
                             "buffers": "the index (not a weight; + the MLP's coordinates)"})  # fmt: skip

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        self.checked(a)
        return tt.RelativePositionBias(a["table"], a["index"], a["axis"], a["bias"], a["head"], a["mlp"],
                                       a["mlp_bias"], a["mlp_gain"], a["index_buffer"])  # fmt: skip

    def torch_import(self) -> tuple:
        from archcalc import torch_tokens as tt

        def mine(call) -> dict:
            m = call.module
            return {"table": list(m.table_shape), "index": None if m.index_shape is None else list(m.index_shape),
                    "axis": m.axis,
                    "bias": list(m.bias_shape), "head": m.head, "mlp": m.mlp, "mlp_bias": m.mlp_bias,
                    "mlp_gain": m.mlp_gain, "index_buffer": m.index_buffer}  # fmt: skip

        def gathered(call) -> bool:
            """One activation and one gathered bias (the importer's weight-derived value; not a one-hot lookup)."""
            one = len(call.in_shapes) == 1 and len(call.weights) == 1
            weight = call.weights[0] if one else None
            return one and getattr(weight, "kind", None) == "gathered" and not getattr(weight, "one_hot", False)

        def added(call) -> dict:
            if call.kwargs or len(call.args) != 2:
                raise CannotMap("adds with arguments other than two tensors")
            return _read_gathered(call.weights[0])

        return (ImportRule(self.name, modules=(tt.RelativePositionBias,), read=mine),
                ImportRule(self.name, functions=addition_functions(), read=added, when=gathered, gathered_operands=True,
                           note="scores + a bias gathered from a parameter table by an "
                                "index buffer"))  # fmt: skip


def _read_gathered(bias) -> dict:
    if bias.resized_from is not None:
        raise CannotMap("the bias is gathered from a table resized in forward; only relative_position_product "
                        "reads such rows")
    mlp, mlp_bias = bias.mlp.summary() if bias.mlp is not None else (None, None)
    index = bias.index_shape
    return {"table": list(bias.table_shape), "index": None if index is None else list(index), "axis": bias.axis,
            "bias": list(bias.unmasked or bias.shape), "head": bias.head, "mlp": mlp, "mlp_bias": mlp_bias,
            "mlp_gain": bias.gain, "index_buffer": False if bias.computed_index else None}  # fmt: skip


@register
class RelativePositionAttention(ScaledDotProductAttention):
    name = "relative_position_attention"
    summary = "F.scaled_dot_product_attention with a bias gathered from a table as attn_mask (CoAtNet, TinyViT)"
    max_inputs = 3  # the bias is the layer's own, not an input
    attrs = ScaledDotProductAttention.attrs + RelativePositionBias.attrs + (
        Attr("mask", IntList(), None, "the shape of a constant added to the bias, per sample (Hugging Face Swin's "
                                      "shifted-window mask [nW, 1, N, N], made in forward): one more add per score"),
    )

    def geometry(self, a: Attrs, ins: list[Shape]) -> AttentionGeometry:
        g = super().geometry(a, ins)
        RelativePositionBias.checked(self, a)  # type: ignore[arg-type]
        if a["causal"]:
            raise ArchcalcError(f"{self.name}: torch takes either a causal mask or a bias tensor, not both")
        scores = ins[0][:-1] + (ins[1][-2],)
        for name, shape in (("bias", a["bias"]), ("mask", a["mask"])):
            try:
                fits = shape is None or broadcast(self.name, [scores, added_shape(self.name, scores, shape)]) == scores
            except ArchcalcError:
                fits = False
            if not fits:
                raise ArchcalcError(f"{self.name}: a {name} of shape {list(shape)} does not broadcast to the scores "
                                    f"{list(scores)}")  # fmt: skip
        return replace(g, biased_scores=True, masked=a["mask"] is not None)

    params = RelativePositionBias.params  # the same table (or MLP) and index as the bias alone
    embedding_params = RelativePositionBias.embedding_params

    def macs(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return super().macs(a, ins, out) + position_mlp.cost(a)[0]

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return super().flops(a, ins, out) + position_mlp.cost(a)[1]

    def per_call(self, a: Attrs, ins: list[Shape], out: Shape) -> tuple[int, int]:
        """A position-bias MLP runs once per call (position_mlp.py)."""
        return position_mlp.cost(a)[:2]

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return super().connections(a, ins, out) + position_mlp.cost(a)[2]

    def explain_params(self, a: Attrs, ins: list[Shape]) -> tuple:
        t = position_mlp.terms(a)
        return t["params"], t["buffers"]

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        """The attention's terms, plus the position-bias MLP's once per call (`MACs[position_mlp]`)."""
        if a["mlp"] is None:
            return super().explain_counts(a, ins, out)
        t = position_mlp.terms(a)
        defs, macs, flops = term_formulas(self.geometry(a, ins).terms())
        params, buffers = self.explain_params(a, ins)
        return counts(params=params, buffers=buffers, macs=macs + t["macs"], flops=flops + t["flops"],
                      connections=self.connections(a, ins, out), defs=defs,
                      notes={"MACs": "QKᵀ and A·V, + the position-bias MLP once per call",
                             "FLOPs": "every term, + the MLP (ReLU included) once per call"})  # fmt: skip

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        self.geometry(a, ins)
        return tt.RelativePositionAttention(a["table"], a["index"], a["axis"], a["bias"], a["head"], a["causal"],
                                            a["enable_gqa"], a["scale"], a["dropout"], a["mlp"],
                                            a["mlp_bias"], a["mlp_gain"], a["index_buffer"], a["mask"],
                                            a["strided"])  # fmt: skip

    def torch_import(self) -> tuple:
        import torch.nn.functional as F

        from archcalc import torch_tokens as tt

        def mine(call) -> dict:
            m = call.module
            return {"table": list(m.table_shape), "index": None if m.index_shape is None else list(m.index_shape),
                    "index_buffer": m.index_buffer,
                    "axis": m.axis, "bias": list(m.bias_shape), "head": m.head, "causal": m.causal,
                    "mlp": m.mlp, "mlp_bias": m.mlp_bias, "mlp_gain": m.mlp_gain,
                    "enable_gqa": m.enable_gqa, "mask": m.mask_shape, "strided": m.strided or None,
                    "scale": m.scale, "dropout": m.dropout}  # fmt: skip

        def masked(call) -> bool:
            one = len(call.in_shapes) == 3 and len(call.weights) == 1
            return one and getattr(call.weights[0], "kind", None) == "gathered"

        def read(call) -> dict:
            b = call.bind("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale", "enable_gqa",
                          attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False)  # fmt: skip
            bias = call.weights[0]
            if b["attn_mask"] is None or tuple(b["attn_mask"].shape) != bias.shape:
                raise CannotMap("the gathered bias is not its attn_mask")
            return {**_read_gathered(bias), "causal": bool(b["is_causal"]), "enable_gqa": bool(b["enable_gqa"]),
                    "scale": b["scale"], "dropout": b["dropout_p"], "mask": list(bias.mask) if bias.mask else None,
                    "batch_merged": call.batch_merged or None,
                    "strided": any(b[name].stride(-1) != 1 for name in ("query", "key", "value")) or None}  # fmt: skip

        return (ImportRule(self.name, modules=(tt.RelativePositionAttention,), read=mine),
                ImportRule(self.name, functions=(F.scaled_dot_product_attention,), read=read, when=masked,
                           gathered_operands=True, note="attn_mask: a bias gathered from a parameter table by an "
                                                        "index buffer"))  # fmt: skip
