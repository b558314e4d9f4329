"""Attention: multi_head_attention (projections included) and scaled_dot_product_attention (the functional
core of already-projected q, k, v). Their costs, term by term, are in attention_cost.py.

multi_head_attention (nn.MultiheadAttention, and what LLMs use: GQA/MQA heads, RoPE, a causal mask)
    inputs       1: self-attention on [L, E]; 2: query [L, E] and memory [S, E_kv] (cross-attention: keys
                 and values both from the memory); 3: query, key [S, E_k], value [S, E_v]
    output       [L, E]
    params       E·H·D + E_k·H_kv·D + E_v·H_kv·D_v + H·D_v·E (+ H·D + H_kv·(D + D_v) with bias, + E with the
                 output bias) + buckets·H for a T5-style relative-position table; `k_bias: none` leaves out the
                 key bias (H_kv·D), `k_bias: zeros` makes it a buffer of zeros (timm's EVA)
    macs         q/k/v projections + QKᵀ (H·L·S·D) + A·V (H·L·S·D_v) + output projection
    flops        the table in attention_cost.py: projections, RoPE, scaling, QKᵀ, bias, mask, softmax, A·V,
                 output projection
    connections  the projections' links (n_in + bias per output, as linear) + 2D per score + 2S per A·V output
    memory       the score matrix, H·L·S elements, counted as activation memory (`flash: true`: not)
scaled_dot_product_attention (F.scaled_dot_product_attention on [*, L, D], [*, S, D], [*, S, D_v], and an
                 optional fourth input: attn_mask, a float bias computed from the input that broadcasts to the
                 scores [*, L, S], as SAM's decomposed relative positions)
    output       [*, L, D_v];  params 0
    macs         B·L·S·(D + D_v), B = the leading sizes of the query (heads)
    flops        scaling, QKᵀ, mask, softmax and A·V as above; + B·L·S with attn_mask (one add per score)
    k and v with one head ([1, S, D]) broadcast over the query's heads as torch broadcasts them (multi-query
    attention, MobileNetV5's): counted as GQA with one key/value head, with or without enable_gqa.

Receptive field: attention mixes every position (None). Training: the projections as linear layers
(weight and input gradients), the two products twice (a gradient for each operand), the rest about the
forward cost.
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attention_cost import AttentionGeometry, term_formulas
from archcalc.layers.attrs import Attr, Bool, Choice, Float, Int
from archcalc.layers.base import Attrs, LayerType, Params, Shape, numel, register
from archcalc.layers.embedding import token_names
from archcalc.layers.formula import Formula, Group, Term, counts
from archcalc.layers.hf_attention import hugging_face_rules
from archcalc.layers.imports import CannotMap, ImportRule
from archcalc.layers.timm_attention import timm_rules

ATTENTION_BACKWARD = ("projections as linear layers; QKᵀ and A·V twice (one gradient per operand); the rest "
                      "about the forward FLOPs")  # fmt: skip


class _Attention(LayerType):
    category = "linear"
    dense_macs = True
    fused_kernel = True  # built on F.scaled_dot_product_attention / nn.MultiheadAttention
    fvcore_exact = False
    flops_rule = "Σ of the terms in attention_cost.py (projections, scaling, QKᵀ, mask, softmax, A·V)"
    backward_rule = ATTENTION_BACKWARD

    def geometry(self, a: Attrs, ins: list[Shape]) -> AttentionGeometry:
        raise NotImplementedError

    def macs(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.geometry(a, ins).macs

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self.geometry(a, ins).flops

    def workspace(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return 0 if a["flash"] else self.geometry(a, ins).score_elements

    def kv_cache_elements(self, a: Attrs, ins: list[Shape]) -> int:
        """Elements one token leaves in a KV cache (keys and values, all heads) per sample."""
        return self.geometry(a, ins).kv_cache_elements_per_token()

    def attention(self, a: Attrs, ins: list[Shape]) -> AttentionGeometry:
        return self.geometry(a, ins)

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None

    def backward(self, a: Attrs, ins: list[Shape], out: Shape, input_grad: bool) -> tuple[int, int]:
        g = self.geometry(a, ins)
        products = g.product_macs
        weights = g.macs - products
        macs = weights * (2 if input_grad else 1) + 2 * products
        return macs, 2 * macs + sum(t.flops for t in g.terms() if not t.macs)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        """One definition per term (`MACs[scores]`, `FLOPs[softmax]`), then the sums."""
        defs, macs, flops = term_formulas(self.geometry(a, ins).terms())
        params, buffers = self.explain_params(a, ins)
        return counts(params=params, buffers=buffers, macs=macs, flops=flops,
                      connections=self.connections(a, ins, out), defs=defs,
                      notes={"MACs": "matrix products only: the projections, QKᵀ and A·V",
                             "FLOPs": "every term, in the order torch computes them"})  # fmt: skip

    def explain_params(self, a: Attrs, ins: list[Shape]) -> tuple:
        """(params, buffers or None) as formulas; default: none."""
        return 0, None

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        g = self.geometry(a, ins)
        links = g.windows * g.heads * g.queries * (g.keys * 2 * g.head_dim + g.value_dim * 2 * g.keys)
        if g.embed_dim is None:
            return links
        E, P = g.embed_dim, g.keys if g.projected_kv is None else g.projected_kv
        b, bo = int(g.bias), int(g.out_bias)
        bk = b if g.key_bias is None else int(g.key_bias)
        projections = (g.queries * g.heads * g.head_dim * (E + b) + P * g.kv_heads * g.head_dim * ((g.kdim or E) + bk)
                       + P * g.kv_heads * g.value_dim * ((g.vdim or E) + b)
                       + g.queries * E * (g.heads * g.value_dim + bo))  # fmt: skip
        return g.windows * projections + links

    connections_rule = "projection links (n_in + bias per output) + 2D per score + 2S per A·V output"


@register
class MultiHeadAttention(_Attention):
    name = "multi_head_attention"
    summary = "multi-head attention with its projections: self or cross, causal, GQA/MQA, RoPE"
    min_inputs = 1
    max_inputs = 3
    attrs = (
        Attr("num_heads", Int(), doc="query heads H", aliases=("heads",)),
        Attr("kv_heads", Int(), None, "key/value heads H_kv (GQA: fewer, dividing H; MQA: 1); default H"),
        Attr("head_dim", Int(), None, "size D of each head; default E / H"),
        Attr("bias", Bool(), True, "biases of the q, k and v projections"),
        Attr("k_bias", Choice("learned", "none", "zeros"), None,
             "the key projection's bias: learned, none (EVA's separate projections), or zeros (EVA's fused qkv "
             "adds a zero buffer of H_kv·D: no parameters, but torch adds it); default: learned with `bias`"),
        Attr("out_bias", Bool(), None, "bias of the output projection; default: as `bias`"),
        Attr("causal", Bool(), False, "each query sees only itself and earlier keys (decoders)"),
        Attr("rope", Bool(), False, "rotary position embedding on queries and keys (Llama)"),
        Attr("rotary_dims", Int(), None, "features per head that RoPE rotates (even); default D"),
        Attr("rope_base", Float(1.0), 10000.0, "RoPE's angle base θ; changes no count"),
        Attr("rope_prefix_tokens", Int(0), 0, "leading tokens RoPE leaves unrotated (timm: class and register "
             "tokens); the rope term covers L − p queries and S − p keys"),
        Attr("rel_pos_buckets", Int(0), 0, "T5-style learned relative-position bias: table rows (0: none)"),
        Attr("flash", Bool(), False, "a fused kernel that never stores the score matrix (memory only)"),
        Attr("dropout", Float(0.0, 1.0), 0.0, "dropout on the attention weights (identity at inference)"),
        Attr("fused_qkv", Bool(), False, "q, k and v from one Linear(E, 3·H·D) around F.scaled_dot_product_attention "
             "(timm's Attention): the same counts, but never nn.MultiheadAttention's native kernel"),
        Attr("embed_dim", Int(), None, "optional check of the query's features E"),
        Attr("kdim", Int(), None, "optional check of the key input's features"),
        Attr("vdim", Int(), None, "optional check of the value input's features"),
    )

    def validate(self, a: Attrs) -> None:
        heads, kv = a["num_heads"], a["kv_heads"] or a["num_heads"]
        if heads % kv:
            raise ArchcalcError(f"multi_head_attention: kv_heads {kv} must divide num_heads {heads}")

    def geometry(self, a: Attrs, ins: list[Shape]) -> AttentionGeometry:
        for shape in ins:
            if len(shape) != 2:
                raise ArchcalcError(f"multi_head_attention needs [L, E] tokens, got shape {list(shape)}")
        query, key, value = (ins + [ins[-1]] * 2)[:3] if len(ins) > 1 else (ins[0], ins[0], ins[0])
        E, heads = query[1], a["num_heads"]
        for name, given, found in (("embed_dim", a["embed_dim"], E), ("kdim", a["kdim"], key[1]),
                                   ("vdim", a["vdim"], value[1])):  # fmt: skip
            if given is not None and given != found:
                raise ArchcalcError(f"multi_head_attention: {name} is {given} but the input has {found} features")
        if key[0] != value[0]:
            raise ArchcalcError(f"multi_head_attention: keys {list(key)} and values {list(value)} differ in length")
        head_dim = a["head_dim"]
        if head_dim is None:
            if E % heads:
                raise ArchcalcError(f"multi_head_attention: {E} features do not split into {heads} heads "
                                    "(give head_dim)")  # fmt: skip
            head_dim = E // heads
        rotary = 0
        if a["rope"]:
            rotary = head_dim if a["rotary_dims"] is None else a["rotary_dims"]
            if rotary % 2 or rotary > head_dim:
                raise ArchcalcError(f"multi_head_attention: rotary_dims {rotary} must be even and at most "
                                    f"head_dim {head_dim}")  # fmt: skip
        prefix = a["rope_prefix_tokens"]
        if prefix and (not a["rope"] or prefix > min(query[0], key[0])):
            raise ArchcalcError(f"multi_head_attention: rope_prefix_tokens {prefix} needs rope and at most "
                                f"{min(query[0], key[0])} tokens")  # fmt: skip
        return AttentionGeometry(
            queries=query[0], keys=key[0], heads=heads, kv_heads=a["kv_heads"] or heads, head_dim=head_dim,
            value_dim=head_dim, embed_dim=E, kdim=key[1], vdim=value[1], bias=a["bias"],
            out_bias=a["bias"] if a["out_bias"] is None else a["out_bias"], rotary_dims=rotary,
            key_bias=self.key_bias(a) != "none", rope_prefix=prefix, biased_scores=a["rel_pos_buckets"] > 0, masked=a["causal"], causal=a["causal"])  # fmt: skip

    @staticmethod
    def key_bias(a: Attrs) -> str:
        """learned, none or zeros: `k_bias`, by default learned exactly when `bias`."""
        return a["k_bias"] or ("learned" if a["bias"] else "none")

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        self.geometry(a, ins)
        return ins[0]

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        g = self.geometry(a, ins)
        E, b, key_bias = g.embed_dim, int(g.bias), self.key_bias(a)
        q = (E + b) * g.heads * g.head_dim
        k = (g.kdim + int(key_bias == "learned")) * g.kv_heads * g.head_dim
        v = (g.vdim + b) * g.kv_heads * g.value_dim
        o = (g.heads * g.value_dim + int(g.out_bias)) * E
        zeros = g.kv_heads * g.head_dim if key_bias == "zeros" else 0
        return Params(trainable=q + k + v + o + a["rel_pos_buckets"] * g.heads, buffers=zeros)

    def embedding_params(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        """A T5-style relative-position table is a position embedding: buckets·H."""
        return a["rel_pos_buckets"] * a["num_heads"]

    def explain_params(self, a: Attrs, ins: list[Shape]) -> tuple:
        """(E + b)·H·D + (E_k + b_k)·H_kv·D + (E_v + b)·H_kv·D_v + (H·D_v + b_o)·E [+ buckets·H];
        buffers H_kv·D for a zero key bias."""
        g = self.geometry(a, ins)
        key_bias = self.key_bias(a)
        E, H, Hk, D = Term("E", g.embed_dim), Term("H", g.heads), Term("H_kv", g.kv_heads), Term("D", g.head_dim)
        Ek = Term("E_k", g.kdim) if g.kdim != g.embed_dim else E
        Ev = Term("E_v", g.vdim) if g.vdim != g.embed_dim else E

        def fan(t, biased=g.bias):
            return Group(t + 1) if biased else t

        params = fan(E) * H * D + fan(Ek, key_bias == "learned") * Hk * D + fan(Ev) * Hk * D
        params = params + (Group(H * D + 1) if g.out_bias else H * D) * E
        if a["rel_pos_buckets"]:
            params = params + Term("buckets", a["rel_pos_buckets"]) * H
        return params, (Hk * D if key_bias == "zeros" else None)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return [Formula("L_out", Term("L", out[0]), "one output per query"),
                Formula("E_out", Term("E", out[1]), "the output projection maps H·D_v back to E")]  # fmt: skip

    def uses_torch_mha(self, a: Attrs, ins: list[Shape]) -> bool:
        """Whether archcalc builds it as torch's nn.MultiheadAttention (what the peer tools then see): equal
        heads, D = E / H, one bias switch, no RoPE and no relative-position table. Otherwise: q/k/v/o
        nn.Linear projections around F.scaled_dot_product_attention, as Hugging Face's Llama does."""
        g = self.geometry(a, ins)
        return (g.kv_heads == g.heads and g.head_dim * g.heads == g.embed_dim and not g.rotary_dims
                and not a["rel_pos_buckets"] and g.bias == g.out_bias and not a["fused_qkv"]
                and self.key_bias(a) == ("learned" if g.bias else "none"))  # fmt: skip

    def torch_fast_path(self, a: Attrs, ins: list[Shape]) -> bool:
        """Whether torch runs archcalc's build through nn.MultiheadAttention's fused native kernel at inference
        (eval mode, no autograd, on the CPU or a GPU): self-attention (one input), an even number of heads,
        the projection biases and no mask. That kernel is one aten op (aten::_native_multi_head_attention):
        fvcore and FlopCounterMode see none of its products. torchvision's ViT takes it."""
        return (self.uses_torch_mha(a, ins) and len(ins) == 1 and a["num_heads"] % 2 == 0 and a["bias"]
                and not a["causal"])  # fmt: skip

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_attention as ta

        g = self.geometry(a, ins)
        if self.uses_torch_mha(a, ins):
            return ta.TorchMultiheadAttention(g.embed_dim, g.heads, g.kdim, g.vdim, g.bias, a["causal"], a["dropout"])
        return ta.Attention(g.embed_dim, g.heads, g.kv_heads, g.head_dim, g.kdim, g.vdim, g.bias, g.out_bias,
                            a["causal"], g.rotary_dims, a["rope_base"], a["rel_pos_buckets"], a["dropout"],
                            key_bias=self.key_bias(a), rope_prefix=g.rope_prefix)

    def torch_import(self) -> tuple:
        from torch import nn

        from archcalc import torch_attention as ta

        def read(call) -> dict:
            m = call.module
            b = call.bind("query", "key", "value", "key_padding_mask", "need_weights", "attn_mask",
                          "average_attn_weights", "is_causal", key_padding_mask=None, need_weights=True,
                          attn_mask=None, average_attn_weights=True, is_causal=False)  # fmt: skip
            if m.bias_k is not None or m.add_zero_attn:
                raise CannotMap("learned extra key/value rows (add_bias_kv, add_zero_attn) are not counted")
            if b["key_padding_mask"] is not None or b["attn_mask"] is not None:
                raise CannotMap("takes an explicit mask tensor (not counted)")
            if b["key"] is b["query"] and b["value"] is not b["query"]:
                raise CannotMap("the keys are the queries but the values differ")
            return {"num_heads": m.num_heads, "bias": m.in_proj_bias is not None,
                    "out_bias": m.out_proj.bias is not None, "causal": bool(b["is_causal"]), "dropout": m.dropout}

        def mine(call) -> dict:
            m = call.module
            return {"num_heads": m.mha.num_heads, "bias": m.mha.in_proj_bias is not None, "causal": m.causal,
                    "dropout": m.mha.dropout}  # fmt: skip

        def general(call) -> dict:
            m = call.module
            return {"num_heads": m.heads, "kv_heads": m.kv_heads, "head_dim": m.head_dim, "bias": m.bias,
                    "out_bias": m.out_bias, "causal": m.causal, "rope": m.rotary is not None,
                    "rotary_dims": m.rotary.dims if m.rotary is not None else None,
                    "rope_base": m.rotary.base if m.rotary is not None else None,
                    "rel_pos_buckets": m.buckets, "dropout": m.dropout}  # fmt: skip

        return (ImportRule(self.name, modules=(nn.MultiheadAttention,), read=read, unique_operands=True,
                           note="batch_first, need_weights=False, no mask tensor"),
                ImportRule(self.name, modules=(ta.TorchMultiheadAttention,), read=mine),
                ImportRule(self.name, modules=(ta.Attention,), read=general)) + timm_rules(self.name) \
            + hugging_face_rules(self.name)  # fmt: skip


def biased_scores(layer: str, a: Attrs, scores: Shape, bias: Shape) -> None:
    """An attn_mask input has the scores' rank [*, L, S] (both carry the batch in front) and broadcasts to them
    without enlarging them; with it torch takes no causal flag."""
    if a["causal"]:
        raise ArchcalcError(f"{layer}: torch takes either a causal mask or a bias tensor, not both")
    if len(bias) != len(scores) or any(b not in (1, s) for b, s in zip(bias, scores)):
        raise ArchcalcError(f"{layer}: an attn_mask of shape {list(bias)} does not broadcast to the scores "
                            f"{list(scores)}")  # fmt: skip


@register
class ScaledDotProductAttention(_Attention):
    name = "scaled_dot_product_attention"
    summary = "softmax(q·kᵀ·scale [+ mask]) · v on projected q, k, v (F.scaled_dot_product_attention)"
    category = "linear"
    min_inputs = 3
    max_inputs = 4  # q, k, v [, attn_mask: an additive bias computed from the input, SAM's decomposed rel-pos]
    attrs = (
        Attr("causal", Bool(), False, "is_causal: a lower-triangular mask"),
        Attr("enable_gqa", Bool(), False, "the query may have more heads (axis -3) than k and v"),
        Attr("scale", Float(), None, "the score scale; default 1/√D (changes no count)"),
        Attr("flash", Bool(), False, "a fused kernel that never stores the score matrix (memory only)"),
        Attr("dropout", Float(0.0, 1.0), 0.0, "dropout_p on the attention weights (identity at inference)"),
        Attr("batch_merged", Bool(), False, "the model merges the batch into the first axis (window attention's "
             "[B·nW, h, N, d]): torch sees one axis fewer, which picks its CPU kernel (the torch convention)"),
    )

    def geometry(self, a: Attrs, ins: list[Shape]) -> AttentionGeometry:
        q, k, v = ins[:3]
        if len(q) < 2 or len(k) != len(q) or len(v) != len(q):
            raise ArchcalcError("scaled_dot_product_attention needs q [*, L, D], k [*, S, D] and v [*, S, D_v] of "
                                f"one rank (at least 2), got {list(q)}, {list(k)}, {list(v)}")  # fmt: skip
        if k[-1] != q[-1] or k[-2] != v[-2]:
            raise ArchcalcError(f"scaled_dot_product_attention: q {list(q)}, k {list(k)} and v {list(v)} do not fit "
                                "(k needs q's features, v k's length)")  # fmt: skip
        lead_q, lead_k = q[:-2], k[:-2]
        heads, kv_heads = (lead_q[-1], lead_k[-1]) if lead_q else (1, 1)
        # k and v with one head, broadcast over the query's (MobileNetV5's multi-query attention): GQA with one group
        broadcast = bool(lead_q) and kv_heads == 1 and lead_k[:-1] == lead_q[:-1]
        gqa = (a["enable_gqa"] or broadcast) and lead_q and heads != kv_heads
        if lead_k != v[:-2] or (lead_q != lead_k and not gqa) or (gqa and (lead_q[:-1] != lead_k[:-1]
                                                                           or heads % kv_heads)):  # fmt: skip
            raise ArchcalcError(f"scaled_dot_product_attention: the leading axes of q {list(q)}, k {list(k)} and "
                                f"v {list(v)} differ" + ("" if a["enable_gqa"] else " (GQA needs enable_gqa)"))
        outer = numel(lead_q[:-1]) if lead_q else 1
        if len(ins) == 4:
            biased_scores(self.name, a, q[:-1] + (k[-2],), ins[3])
        return AttentionGeometry(queries=q[-2], keys=k[-2], heads=outer * heads, kv_heads=outer * kv_heads,
                                 head_dim=q[-1], value_dim=v[-1], masked=a["causal"], causal=a["causal"],
                                 biased_scores=len(ins) == 4)  # fmt: skip

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        self.geometry(a, ins)
        return ins[0][:-1] + (ins[2][-1],)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        names = token_names(len(out))
        shape = [Formula(f"{name}_out", Term(name, size)) for name, size in zip(names[:-1], out[:-1])]
        return shape + [Formula(f"{names[-1]}_out", Term("D_v", out[-1]), "the values' features")]

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_attention as ta

        self.geometry(a, ins)
        return ta.ScaledDotProduct(a["causal"], a["enable_gqa"], a["scale"], a["dropout"])

    def torch_import(self) -> tuple:
        import torch.nn.functional as F

        from archcalc import torch_attention as ta

        def read(call) -> dict:
            b = call.bind("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale", "enable_gqa",
                          attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False)  # fmt: skip
            # a float mask computed from the input (the fourth activation) is an additive bias, counted; any other
            # (a boolean, a constant or a parameter) is not
            mask = b["attn_mask"]
            if mask is not None and (len(call.in_shapes) != 4 or not mask.is_floating_point()):
                raise CannotMap("takes an explicit mask tensor (not counted)")
            return {"causal": bool(b["is_causal"]), "enable_gqa": bool(b["enable_gqa"]), "scale": b["scale"],
                    "dropout": b["dropout_p"], "batch_merged": call.batch_merged or None}  # fmt: skip

        def mine(call) -> dict:
            m = call.module
            return {"causal": m.causal, "enable_gqa": m.enable_gqa, "scale": m.scale, "dropout": m.dropout}

        return (ImportRule(self.name, functions=(F.scaled_dot_product_attention,), read=read,
                           note="no mask tensor, or a float attn_mask computed from the input: a fourth input"),
                ImportRule(self.name, modules=(ta.ScaledDotProduct,), read=mine))  # fmt: skip
