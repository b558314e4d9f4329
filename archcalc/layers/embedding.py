"""Embeddings: token ids to vectors, and the position information added to them.

Token sequences are [L, E] (L tokens of E features, batch excluded); token ids are [L] integers (a spec
says `input_dtype: int64`). V = num_embeddings, E = embedding_dim, R = table rows.

embedding (nn.Embedding: [*] ids -> [*, E])
    params       V * E (a table; padding_idx only pins one row's gradient to zero)
    macs, flops  0: a lookup only moves data
    backward     the table's gradient is a scatter-add: numel(out) adds when trained; ids take no gradient
positional_embedding (on [*, L, E]; `mode` learned: a parameter added, as ViT, BERT and GPT-2 do; sinusoidal:
Vaswani et al.'s fixed table, kept as a buffer)
    params       learned R * E (R = max_len, default L); sinusoidal: R * E buffer elements
    flops        numel(out): one add per element
    connections  2 * numel(out): the input element and one table entry
token_type_embedding (BERT's segment table; every token adds the row of `segment`, 0 as BertModel without
token_type_ids)
    params       types * E;  flops numel(out);  connections 2 * numel(out)
rotary_embedding (RoPE, Su et al. 2021, on [*, L, D]: rotates the pairs (i, i + r/2) of the first r = dims
features by a position-dependent angle; the angle table is a constant, computed once per model)
    flops        3 * r * numel(out) / D: per pair, x1 cos - x2 sin and x2 cos + x1 sin (4 multiplies, 2 adds)
    connections  0; params 0
class_token (learned tokens put in front: [L, E] -> [L + n, E]; ViT's class token, DeiT's two)
    params       n * E;  flops 0 (a concatenation)

Embedding parameters (`embedding_params`, what Kaplan et al. 2020 leave out of N): the token, learned
position and segment tables; a class token is not one (it is a learned input, not looked up by id or position).

Receptive field: token sequences carry no spatial field (None after an embedding or a class token);
positional and rotary embeddings are position-wise (identity).
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Choice, Float, Int
from archcalc.layers.base import IDENTITY, Attrs, LayerType, Params, Shape, numel, register
from archcalc.layers.elementwise import addition_functions
from archcalc.layers.formula import Const, Expr, Formula, Term, counts, product
from archcalc.layers.imports import CannotMap, ImportRule, readable


def token_names(rank: int) -> tuple[str, ...]:
    """Symbols of a token tensor's axes: L; L, E; H, L, D (then d0, d1, ... in front)."""
    named = {1: ("L",), 2: ("L", "E"), 3: ("H", "L", "D")}
    return named.get(rank, tuple(f"d{i}" for i in range(rank - 3)) + ("H", "L", "D"))


def tokens_of(shape: Shape, suffix: str = "") -> Expr:
    """The elements of a token tensor as a formula: L×E."""
    return product(Term(name + suffix, size) for name, size in zip(token_names(len(shape)), shape))


def kept_shape(shape: Shape) -> list[Formula]:
    return [Formula(f"{name}_out", Term(name, size)) for name, size in zip(token_names(len(shape)), shape)]


def require_tokens(layer: str, shape: Shape, what: str = "[L, E] tokens") -> None:
    if len(shape) < 2:
        raise ArchcalcError(f"{layer} needs {what} (at least two axes), got shape {list(shape)}")


@register
class Embedding(LayerType):
    name = "embedding"
    summary = "lookup table: integer token ids [*] -> vectors [*, E] (nn.Embedding)"
    category = "linear"
    data_movement = True
    input_kind = "tokens"
    attrs = (
        Attr("num_embeddings", Int(), doc="table rows: the vocabulary size V", aliases=("vocab_size",)),
        Attr("embedding_dim", Int(), doc="vector size E", aliases=("dim",)),
        Attr("padding_idx", Int(None), None, "a row whose gradient stays zero (negative: from the end)"),
        Attr("trainable", Bool(), True, "false: a frozen (pretrained) table"),
    )
    backward_rule = "the table's gradient: numel(out) adds (a scatter-add) when trained; ids take no gradient"

    def validate(self, a: Attrs) -> None:
        index, rows = a["padding_idx"], a["num_embeddings"]
        if index is not None and not -rows <= index < rows:
            raise ArchcalcError(f"embedding: padding_idx {index} is outside the {rows} rows")

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        return ins[0] + (a["embedding_dim"],)

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        total = a["num_embeddings"] * a["embedding_dim"]
        return Params(trainable=total) if a["trainable"] else Params(non_trainable=total)

    def embedding_params(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.params(a, ins, out).total

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        kept = [Formula(f"{name}_out", Term(name, size)) for name, size in zip(token_names(len(ins[0])), ins[0])]
        return kept + [Formula("E_out", Const(out[-1]), "embedding_dim")]

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        table = Term("V", a["num_embeddings"]) * Term("E", a["embedding_dim"])
        return counts(params=table, notes={"params": "one E-vector per token id" + ("" if a["trainable"] else
                                           ", frozen"), "FLOPs": "a table lookup only moves data"})  # fmt: skip

    def backward(self, a: Attrs, ins: list[Shape], out: Shape, input_grad: bool) -> tuple[int, int]:
        return (0, numel(out)) if a["trainable"] else (0, 0)

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from torch import nn

        table = nn.Embedding(a["num_embeddings"], a["embedding_dim"], a["padding_idx"])
        return table.requires_grad_(a["trainable"])

    def torch_import(self) -> tuple:
        from torch import nn
        from torch.nn import functional as F

        def read(call) -> dict:
            m = call.module
            if m.max_norm is not None:
                raise CannotMap("max_norm renormalises the looked-up rows (not counted)")
            return {"num_embeddings": m.num_embeddings, "embedding_dim": m.embedding_dim,
                    "padding_idx": m.padding_idx, "trainable": m.weight.requires_grad}  # fmt: skip

        def function(call) -> dict:
            b = call.bind("input", "weight", "padding_idx", "max_norm", "norm_type", "scale_grad_by_freq", "sparse",
                          padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, sparse=False)
            if b["max_norm"] is not None:
                raise CannotMap("max_norm renormalises the looked-up rows (not counted)")
            rows, dim = b["weight"].shape
            return {"num_embeddings": rows, "embedding_dim": dim, "padding_idx": b["padding_idx"],
                    "trainable": b["weight"].requires_grad}  # fmt: skip

        return (ImportRule(self.name, modules=(nn.Embedding,), read=read),
                ImportRule(self.name, functions=(F.embedding,), read=function, weight_operands=True))


class _AddedTable(LayerType):
    """A table added to every token (positions, segments): one add per element."""

    category = "elementwise"
    flops_rule = "out: one add per element"
    connections_rule = "2 * out: the input element and one table entry"

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_tokens(self.name, ins[0])
        return ins[0]

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out)

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return 2 * numel(out)

    def embedding_params(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        """The table is an embedding (a learned position or segment table; a fixed one is a buffer)."""
        return self.params(a, ins, out).total

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return kept_shape(ins[0])

    def table_terms(self, a: Attrs, ins: list[Shape]) -> Expr:
        raise NotImplementedError

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        table, fixed = self.table_terms(a, ins), self.params(a, ins, out).buffers
        return counts(params=0 if fixed else table, buffers=table if fixed else None, flops=tokens_of(out, "_out"),
                      connections=2 * tokens_of(out, "_out"), notes={"FLOPs": "one add per element"})  # fmt: skip

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY


@register
class PositionalEmbedding(_AddedTable):
    name = "positional_embedding"
    summary = "absolute position table added to [*, L, E] tokens: learned (ViT, BERT, GPT-2) or sinusoidal"
    attrs = (
        Attr("mode", Choice("learned", "sinusoidal"), "learned", "a trained parameter, or the fixed sin/cos table"),
        Attr("max_len", Int(), None, "table rows (positions it can take); default: exactly L"),
    )

    def rows(self, a: Attrs, shape: Shape) -> int:
        rows = shape[-2] if a["max_len"] is None else a["max_len"]
        if rows < shape[-2]:
            raise ArchcalcError(f"positional_embedding: {shape[-2]} tokens exceed its max_len of {rows}")
        return rows

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_tokens(self.name, ins[0])
        if a["mode"] == "sinusoidal" and ins[0][-1] % 2:
            raise ArchcalcError(f"positional_embedding: a sinusoidal table needs an even E, got {ins[0][-1]}")
        self.rows(a, ins[0])
        return ins[0]

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        table = self.rows(a, ins[0]) * ins[0][-1]
        return Params(trainable=table) if a["mode"] == "learned" else Params(buffers=table)

    def table_terms(self, a: Attrs, ins: list[Shape]) -> Expr:
        rows = Term("max_len", a["max_len"]) if a["max_len"] is not None else Term("L", ins[0][-2])
        return rows * Term("E", ins[0][-1])

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        return tt.PositionalEmbedding(self.rows(a, ins[0]), ins[0][-1], a["mode"] == "learned")

    def torch_import(self) -> tuple:
        from archcalc import torch_tokens as tt

        def read(call) -> dict:
            m = call.module
            table = m.pos_embedding if m.learned else m.pe
            return {"mode": "learned" if m.learned else "sinusoidal", "max_len": table.shape[1]}

        def added(call) -> dict:
            """tokens + pos_embed, a parameter of shape [1, L, E] (timm's ViTs): a learned table of L rows."""
            shape = tuple(call.weights[0].shape)
            shape = shape[1:] if len(shape) == 3 and shape[0] == 1 else shape
            if len(call.in_shapes[0]) != 2 or shape != call.in_shapes[0]:
                raise CannotMap(f"adds a parameter of shape {list(call.weights[0].shape)} to shape "
                                f"{list(call.in_shapes[0])}: not a [1, L, E] position table for [L, E] tokens")  # fmt: skip
            return {"mode": "learned"}

        def table(call) -> bool:
            """One [1, L, E] parameter; any other shape is parameter_op's (layers/param_operand.py)."""
            return len(call.in_shapes) == 1 and len(call.weights) == 1 and readable(added, call)

        def rows(call) -> bool:
            """`pos_embed[:, :L]`: rows of a [1, R, E] parameter, followed by the importer as a slice of it
            (importer/derived_tables.py), one row per token: a table of R rows (which rows: no count depends on it)."""
            sliced = call.weights[0] if len(call.in_shapes) == 1 and len(call.weights) == 1 else None
            if getattr(sliced, "kind", None) != "position_table" or sliced.parts or len(sliced.pieces) != 1 \
                    or len(call.in_shapes[0]) != 2:  # fmt: skip
                return False
            weight, shape = sliced.pieces[0][0], tuple(s for s in sliced.shape if s != 1)
            return (weight.dim() == 3 and weight.shape[0] == 1 and weight.shape[-1] == call.in_shapes[0][-1]
                    and shape == tuple(s for s in call.in_shapes[0] if s != 1))  # fmt: skip

        return (ImportRule(self.name, modules=(tt.PositionalEmbedding,), read=read),
                ImportRule(self.name, functions=addition_functions(), read=added, weight_operands=True, note="tokens + a [1, L, E] "
                           "parameter", when=table),
                ImportRule(self.name, functions=addition_functions(), when=rows, gathered_operands="position_table",
                           read=lambda call: {"mode": "learned", "max_len": call.weights[0].pieces[0][0].shape[1]},
                           note="tokens + rows of a [1, R, E] parameter (pos_embed[:, :L])"))  # fmt: skip


@register
class TokenTypeEmbedding(_AddedTable):
    name = "token_type_embedding"
    summary = "BERT's token-type (segment) table: each token adds its segment's row"
    attrs = (
        Attr("types", Int(), 2, "table rows: the number of segments (BERT: 2)"),
        Attr("segment", Int(0), 0, "the segment every token is in (BertModel without token_type_ids: 0)"),
    )

    def validate(self, a: Attrs) -> None:
        if a["segment"] >= a["types"]:
            raise ArchcalcError(f"token_type_embedding: segment {a['segment']} is outside the {a['types']} rows")

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(trainable=a["types"] * ins[0][-1])

    def table_terms(self, a: Attrs, ins: list[Shape]) -> Expr:
        return Term("types", a["types"]) * Term("E", ins[0][-1])

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        return tt.TokenTypeEmbedding(a["types"], ins[0][-1], a["segment"])

    def torch_import(self) -> tuple:
        from archcalc import torch_tokens as tt

        def read(call) -> dict:
            return {"types": call.module.weight.shape[0], "segment": call.module.segment}

        return (ImportRule(self.name, modules=(tt.TokenTypeEmbedding,), read=read),)


@register
class RotaryEmbedding(LayerType):
    name = "rotary_embedding"
    summary = "rotary position embedding (RoPE) on [*, L, D]: rotates feature pairs by position"
    category = "elementwise"
    attrs = (
        Attr("dims", Int(), None, "features rotated (even; default all D; partial rotary: fewer)"),
        Attr("base", Float(1.0), 10000.0, "the angle base θ (Llama 3: 500000); changes no count"),
    )
    flops_rule = "3 * rotated elements (per pair: 4 multiplies, 2 adds)"

    def rotated(self, a: Attrs, shape: Shape) -> int:
        dims = shape[-1] if a["dims"] is None else a["dims"]
        if dims % 2 or dims > shape[-1]:
            raise ArchcalcError(f"rotary_embedding: dims {dims} must be even and at most the {shape[-1]} features")
        return dims

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_tokens(self.name, ins[0], "[*, L, D] (tokens, or heads of tokens)")
        self.rotated(a, ins[0])
        return ins[0]

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return 3 * numel(out) // out[-1] * self.rotated(a, out)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return kept_shape(ins[0])

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        vectors = product(Term(n, s) for n, s in zip(token_names(len(out))[:-1], out[:-1]))
        rotated = Term("r", self.rotated(a, out))
        return counts(flops=3 * vectors * rotated, notes={
            "FLOPs": "per rotated pair: x1·cos − x2·sin, x2·cos + x1·sin (4 multiplies, 2 adds); the angle "
                     "table is a constant"})  # fmt: skip

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape):
        return IDENTITY

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        return tt.Rotary(self.rotated(a, ins[0]), a["base"])

    def torch_import(self) -> tuple:
        from archcalc import torch_tokens as tt

        return (ImportRule(self.name, modules=(tt.Rotary,), read=lambda c: {"dims": c.module.dims,
                                                                           "base": c.module.base}),)  # fmt: skip


@register
class ClassToken(LayerType):
    name = "class_token"
    summary = "learned tokens put in front of [L, E] tokens (ViT's class token): [L + n, E]"
    category = "structure"
    data_movement = True
    input_kind = "float"
    attrs = (Attr("count", Int(), 1, "tokens added (DeiT: 2, class and distillation)"),)

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        if len(ins[0]) != 2:
            raise ArchcalcError(f"class_token needs [L, E] tokens, got shape {list(ins[0])}")
        return (ins[0][0] + a["count"], ins[0][1])

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(trainable=a["count"] * ins[0][1])

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return [Formula("L_out", Term("L", ins[0][0]) + Term("n", a["count"]), "the tokens in front"),
                Formula("E_out", Term("E", ins[0][1]))]  # fmt: skip

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return counts(params=Term("n", a["count"]) * Term("E", ins[0][1]),
                      notes={"FLOPs": "a concatenation only moves data"})  # fmt: skip

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_tokens as tt

        return tt.ClassToken(a["count"], ins[0][1])

    def torch_import(self) -> tuple:
        from archcalc import torch_tokens as tt

        def concatenated(call) -> dict:
            """torch.cat([cls_token.expand(B, -1, -1), ..., x], dim=1) (timm's ViTs; register tokens too): the
            learned [1, n, E] parameters in front of the tokens."""
            b = call.bind("tensors", "dim", dim=0)
            parts, n = list(b["tensors"]), len(call.weights)
            if call.axis(b["dim"], 3) != 0 or len(call.in_shapes[0]) != 2:
                raise CannotMap("does not put learned tokens in front of [L, E] tokens")
            if len(parts) != n + 1 or any(part is not weight for part, weight in zip(parts, call.weights)):
                raise CannotMap("the learned tokens are not all in front of the tokens")
            return {"count": sum(weight.shape[-2] for weight in call.weights)}

        import torch

        return (ImportRule(self.name, modules=(tt.ClassToken,), read=lambda c: {"count": c.module.class_token.shape[1]}),
                ImportRule(self.name, functions=(torch.cat, torch.concat), read=concatenated, weight_operands=True,
                           when=lambda call: len(call.in_shapes) == 1 and bool(call.weights),
                           note="learned [1, n, E] tokens in front"))  # fmt: skip
