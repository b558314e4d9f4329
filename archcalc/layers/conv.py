"""Convolutions over 1, 2 or 3 spatial axes: conv1d, conv2d, conv3d (standard, grouped, depthwise,
dilated, asymmetric, padding modes, or with a connection table), as torch's nn.Conv1d/2d/3d.

One entry, `_Conv`, registered once per rank. Notation per output: K = (C_in / groups) * prod(k) weights
are read (prod(k) = k_h k_w for conv2d, k for conv1d, k_d k_h k_w for conv3d); b = 1 with a bias.
"positions" = the output's spatial positions (H_out W_out for conv2d).

    shape        C_out x out_1 x ... ; per axis out = floor((in + p_before + p_after - d(k - 1) - 1) / s) + 1;
                 padding_mode reflect needs each pad <= size - 1, circular <= size, as torch's F.pad
    params       C_out * K + b * C_out              (the seeds' (k_w k_h C_in + 1) C_out when g = 1)
    macs         C_out * positions * K
    flops        C_out * positions * (K multiplies + (K - 1) adds + b bias add) = out * (2K - 1 + b)
    connections  C_out * positions * (K + b)        (the seeds' (C_in k_w k_h + 1) H_out W_out C_out)
    With a connection `table` (LeNet-5's C3), output map j reads n_j input maps: K_j = n_j prod(k)
    replaces K, map by map, so only the real links are counted.
    With `weight_norm` (w = g v / ||v||, torch.nn.utils.weight_norm, as the TCN of Bai et al. uses) the
    params add C_out (the g per output map); with `weight_norm_dim` d, one g per index of the weight's axis
    d instead (1: C_in/groups, 2 and on: the kernel's sizes; wav2vec2's positional conv keeps one per tap,
    d = 2). MACs, FLOPs and connections are the conv's: the weight is recomputed once per forward pass,
    not per sample, and inference folds it into w (fvcore has no handle for aten::_weight_norm,
    FlopCounterMode no formula).
    With `standardize` (weight standardisation, Qiao et al. 2019: timm's StdConv2d, BiT's and the
    NF-Nets'), each output map's W = C_in/g * prod(k) weights are normalised to zero mean and unit
    variance before the convolution (F.batch_norm over the weight viewed as [1, C_out, W]), once per
    call whatever the batch (`per_call`: a batch of B costs B * conv + this, as torch runs it):
        std      FLOPs + 5 per weight (as a norm without affine: mean 1 add; variance subtract, square,
                 add; scale 1)
        scaled   (NF-Nets' ScaledStdConv2d) params + C_out (a trained gain per map); FLOPs + 6 per
                 weight (the gain as the affine scale) + C_out (gain times the 1/sqrt(W) scale)
    MACs and connections are the conv's: the standardisation multiplies no activation.
    RF           per axis: kernel k, stride s, dilation d, padding p_before.
    Padding 'same' at stride 1 and 'valid' (with zero padding) are built as torch's strings, as a model spells
    them (no count changes; fvcore does not count such a conv: `string_padding`).

Training (backward per sample): the weight gradient costs the forward MACs again and the input gradient
once more, except when no layer before this one is trained (the first conv needs no input gradient, as
autograd skips it). Backward FLOPs = 2 x backward MACs + out (the bias gradient).
"""

from __future__ import annotations

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Choice, Int, Padding, Sizes, Table
from archcalc.layers.base import (WEIGHTS_BACKWARD_RULE, Attrs, LayerType, Params, RFStep, Shape, elements, numel,
                                  register_ranks, require_rank, spatial_names, torch_class,
                                  weights_backward)  # fmt: skip
from archcalc.layers.formula import Const, Formula, Group, Term, counts, plus_one_if, product
from archcalc.layers.geometry import (Window, befores, check_border_padding, kernel_terms, resolve_padding,
                                      window_formulas, windows_out)  # fmt: skip
from archcalc.layers.imports import CannotMap, ImportRule, spec_sides

CONV_NAMES = {1: "conv1d", 2: "conv2d", 3: "conv3d"}


class _Conv(LayerType):
    family = "conv"
    dense_macs = True
    summary = "convolution"
    category = "conv"
    neurons = True
    flops_rule = "out * (2K - 1 + bias), K = C_in/g * prod(kernel) (per output map with a table)"
    connections_rule = "out * (K + bias)"
    backward_rule = WEIGHTS_BACKWARD_RULE

    @classmethod
    def rank_attrs(cls, rank: int) -> tuple[Attr, ...]:
        axes = "[" + ", ".join(f"k_{s.lower()}" for s in spatial_names(rank)) + "]" if rank > 1 else "[k]"
        sides = {1: "[left, right]", 2: "[top, bottom, left, right]", 3: "[before, after] per axis"}[rank]
        return (
            Attr("out_channels", Int(), None, "output maps (optional when `table` is given)", ("out",)),
            Attr("kernel", Sizes(rank), doc=f"kernel size: k or {axes}", aliases=("kernel_size",)),
            Attr("stride", Sizes(rank), 1),
            Attr("padding", Padding(rank, keep_valid=True), 0, f"int, one per axis, {sides}, 'same' or 'valid'"
                 if rank != 2 else "int, [h, w], [top, bottom, left, right], 'same' or 'valid'"),
            Attr("dilation", Sizes(rank), 1),
            Attr("groups", Int(), 1, "channel groups; groups = C_in makes it depthwise"),
            Attr("bias", Bool(), True),
            Attr("padding_mode", Choice("zeros", "reflect", "replicate", "circular"), "zeros"),
            Attr("table", Table(), None, "connection table: for each output map, the input maps it reads"),
            Attr("weight_norm", Bool(), False, "weight normalisation (Salimans & Kingma; the TCN's): the weight "
                 "as g v / ||v||, one trained g per output map"),
            Attr("standardize", Choice("none", "std", "scaled"), "none", "weight standardisation once per "
                 "call: 'std' (timm's StdConv2d), 'scaled' (ScaledStdConv2d: plus a trained gain per output map)"),
            Attr("weight_norm_dim", Int(0), 0, "weight_norm's axis of the weight [C_out, C_in/groups, *kernel] "
                 "that keeps one g per index (torch's `dim`): 0 per output map, 2 per tap of a 1-D kernel"),
        )

    def validate(self, a: Attrs) -> None:
        table = a["table"]
        if table is None and a["out_channels"] is None:
            raise ArchcalcError(f"{self.name} needs attribute 'out_channels' (integer >= 1)")
        if table is not None:
            if a["groups"] != 1:
                raise ArchcalcError(f"{self.name}: a connection table replaces groups; leave groups at 1")
            if a["out_channels"] is not None and a["out_channels"] != len(table):
                raise ArchcalcError(
                    f"{self.name}: out_channels {a['out_channels']} differs from the table's {len(table)} rows"
                )
            a["out_channels"] = len(table)
            if a["weight_norm"]:
                raise ArchcalcError(f"{self.name}: weight_norm with a connection table is not supported")
            if a["standardize"] != "none":
                raise ArchcalcError(f"{self.name}: standardize with a connection table is not supported")
        if a["weight_norm"] and a["standardize"] != "none":
            raise ArchcalcError(f"{self.name}: weight_norm and standardize together are not supported")
        if a["weight_norm_dim"] > self.spatial_rank + 1:
            raise ArchcalcError(f"{self.name}: weight_norm_dim {a['weight_norm_dim']} is not an axis of the "
                                f"{self.spatial_rank + 2}-axis weight")  # fmt: skip

    @staticmethod
    def string_padding(a: Attrs) -> str | None:
        """The padding torch's nn.ConvNd gets as its string, as a model spells it: 'valid', or 'same' at stride 1
        (torch refuses 'same' for a strided conv; archcalc's 'same' there is TensorFlow's, built as numbers),
        with zero padding (another padding_mode pads first). F.convNd then dispatches to aten::_convolution_mode
        instead of aten::_convolution, which is what fvcore sees (conventions/fvcore_rules.py)."""
        padding = a["padding"]
        if not isinstance(padding, str) or a["table"] is not None or a["padding_mode"] != "zeros":
            return None
        return padding if padding == "valid" or all(s == 1 for s in a["stride"]) else None

    def fvcore_hidden(self, a: Attrs) -> bool:
        return self.string_padding(a) is not None

    def window(self, a: Attrs, in_shape: Shape) -> Window:
        pads = resolve_padding(a["padding"], a["kernel"], a["stride"], a["dilation"], in_shape[1:])
        return Window(a["kernel"], a["stride"], pads, a["dilation"])

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        require_rank(self.name, ins[0], self.spatial_rank + 1)
        c_in = ins[0][0]
        groups, c_out = a["groups"], a["out_channels"]
        if c_in % groups:
            raise ArchcalcError(f"{self.name}: input channels {c_in} are not divisible by groups {groups}")
        if c_out % groups:
            raise ArchcalcError(f"{self.name}: out_channels {c_out} is not divisible by groups {groups}")
        if a["table"] is not None:
            worst = max(max(row) for row in a["table"])
            if worst >= c_in:
                raise ArchcalcError(f"{self.name}: the table reads input map {worst}, but the input has {c_in} maps")
        window = self.window(a, ins[0])
        check_border_padding(self.name, a["padding_mode"], window.pads, ins[0][1:])
        return (c_out,) + windows_out(ins[0][1:], window)

    def _fan_in_total(self, a: Attrs, ins: list[Shape]) -> int:
        """Weights read per output position, summed over the output maps (sum of K_j).

        Closed form rather than a list per map: out_channels may be huge in a hostile spec.
        """
        taps = numel(a["kernel"])
        if a["table"] is not None:
            return sum(len(row) for row in a["table"]) * taps
        return ins[0][0] // a["groups"] * taps * a["out_channels"]

    def kernel_weights(self, a: Attrs, ins: list[Shape]) -> int:
        """Elements of the kernel tensor (C_out * C_in/g * prod(k); with a table, its links * prod(k))."""
        return self._fan_in_total(a, ins)

    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        gain = self._gains(a, ins) if a["weight_norm"] else (out[0] if a["standardize"] == "scaled" else 0)
        extra = (out[0] if a["bias"] else 0) + gain
        return Params(trainable=self._fan_in_total(a, ins) + extra)

    def _gains(self, a: Attrs, ins: list[Shape]) -> int:
        """weight_norm's g: one per index of the weight's axis `weight_norm_dim`."""
        axes = [a["out_channels"], ins[0][0] // a["groups"], *a["kernel"]]
        return axes[a["weight_norm_dim"]]

    def per_call(self, a: Attrs, ins: list[Shape], out: Shape) -> tuple[int, int]:
        """The weight standardisation runs once per call, whatever the batch (see the module docstring)."""
        if a["standardize"] == "none":
            return 0, 0
        weights = self._fan_in_total(a, ins)
        return 0, (6 * weights + out[0] if a["standardize"] == "scaled" else 5 * weights)

    def macs(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return numel(out[1:]) * self._fan_in_total(a, ins)

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        bias = 1 if a["bias"] else 0  # per map: 2 K_j - 1 + bias
        return numel(out[1:]) * (2 * self._fan_in_total(a, ins) + (bias - 1) * out[0]) + self.per_call(a, ins, out)[1]

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        bias = 1 if a["bias"] else 0
        return numel(out[1:]) * (self._fan_in_total(a, ins) + bias * out[0])

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        channels = Formula("C_out", Const(out[0]), "one per row of the connection table" if a["table"] else "")
        return [channels] + window_formulas(self.window(a, ins[0]), ins[0][1:])

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        if a["table"] is not None:
            return self._explain_table(a, out)
        kernel = kernel_terms(a["kernel"])
        fan_in = product(kernel + [Term("C_in", ins[0][0])])  # K, the weights one output reads
        if a["groups"] != 1:
            fan_in = fan_in / Term("g", a["groups"])
        per_output = Group(plus_one_if(fan_in, a["bias"]))
        adds = Group(fan_in - 1)
        outputs = elements(out, "_out")
        symbols = "×".join(term.symbol for term in kernel)  # type: ignore[attr-defined]
        params = per_output * Term("C_out", out[0]) if a["bias"] else fan_in * Term("C_out", out[0])
        notes = {}
        if a["weight_norm"] and a["weight_norm_dim"] == 0:
            params, notes = params + Term("C_out", out[0]), {"params": "+ C_out: weight norm's g, one per output map"}
        elif a["weight_norm"]:
            params = params + Term("G", self._gains(a, ins))
            notes = {"params": f"+ G: weight norm's g, one per index of the weight's axis {a['weight_norm_dim']}"}
        flops = Group(plus_one_if(fan_in + adds, a["bias"])) * outputs
        if a["standardize"] != "none":
            scaled = a["standardize"] == "scaled"
            weights = Term("W", self._fan_in_total(a, ins))
            flops = flops + ((6 * weights + Term("C_out", out[0])) if scaled else 5 * weights)
            if scaled:
                params, notes = params + Term("C_out", out[0]), {"params": "+ C_out: the gain, one per output map"}
        return counts(
            params=params,
            macs=fan_in * outputs,
            flops=flops,
            connections=(per_output if a["bias"] else fan_in) * outputs,
            notes=notes | {"FLOPs": "per output: K multiplies + (K − 1) adds" + (" + 1 bias add" if a["bias"] else "")
                           + f", K = {symbols}×C_in" + ("/g" if a["groups"] != 1 else "")
                           + ("; once per call, the standardisation of the W = K×C_out weights: 5 per weight"
                              + (" + 1 gain, + C_out" if a["standardize"] == "scaled" else "")
                              if a["standardize"] != "none" else "")},
        )  # fmt: skip

    def _explain_table(self, a: Attrs, out: Shape) -> list[Formula]:
        links = sum(len(row) for row in a["table"])
        fan_in = Formula("ΣK", product([Term("Σn_j", links)] + kernel_terms(a["kernel"])),
                         "n_j input maps feed output map j (the connection table)")
        total, maps = Term("ΣK", fan_in.value), Term("C_out", out[0])
        positions = elements(out, "_out", start=1)
        biased = (total + maps) if a["bias"] else total
        multiply_add = total + Group(total - maps)
        return counts(
            params=biased,
            macs=total * positions,
            flops=Group(multiply_add + maps if a["bias"] else multiply_add) * positions,
            connections=Group(biased) * positions if a["bias"] else biased * positions,
            defs=[fan_in],
        )

    def backward(self, a: Attrs, ins: list[Shape], out: Shape, input_grad: bool) -> tuple[int, int]:
        return weights_backward(self.macs(a, ins, out), input_grad, numel(out) if a["bias"] else 0)

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> RFStep:
        window = self.window(a, ins[0])
        return RFStep(window.kernel, window.stride, befores(window.pads), window.dilation)

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        c_in, window = ins[0][0], self.window(a, ins[0])
        if a["table"] is not None:
            return tm.TableConv(a["table"], c_in, a["kernel"], a["stride"], window.pads, a["dilation"], a["bias"])
        string_padding = self.string_padding(a)
        symmetric = window.symmetric or string_padding is not None
        padding = string_padding or (befores(window.pads) if symmetric else 0)
        conv = torch_class("Conv", self.spatial_rank)(
            c_in, a["out_channels"], a["kernel"], a["stride"], padding,
            a["dilation"], a["groups"], a["bias"], a["padding_mode"],
        )  # fmt: skip
        if a["weight_norm"]:
            conv = tm.weight_normed(conv, a["weight_norm_dim"])
        if a["standardize"] != "none":
            from archcalc.torch_convs import standardized

            conv = standardized(conv, a["standardize"])
        return conv if symmetric else tm.Padded(window.pads, a["padding_mode"], conv)

    def torch_import(self) -> tuple:
        from archcalc import torch_modules as tm

        rank, cls = self.spatial_rank, torch_class("Conv", self.spatial_rank)

        def conv(m) -> dict:
            padding = m.padding if isinstance(m.padding, str) else list(m.padding)
            return {"out_channels": m.out_channels, "kernel": m.kernel_size, "stride": m.stride, "padding": padding,
                    "dilation": m.dilation, "groups": m.groups, "bias": m.bias is not None,
                    "padding_mode": m.padding_mode, "weight_norm": tm.is_weight_normed(m),
                    "weight_norm_dim": norm_dim(m), "standardize": getattr(m, "standardize", "none")}  # fmt: skip

        def norm_dim(m) -> int | None:
            dim = tm.weight_norm_dim(m) if tm.is_weight_normed(m) else None
            if dim is not None and not 0 <= dim < len(m.weight.shape):
                raise CannotMap("weight_norm over the whole weight (dim=None): one g, not one per index of an axis")
            return dim or None

        def padded(call) -> dict:
            outer, inner = call.module, conv(call.module.inner)
            if inner["padding"] not in ([0] * rank, "valid") or outer.value != 0.0:
                raise CannotMap("pads twice, or with a non-zero constant")
            mode = "zeros" if outer.mode == "constant" else outer.mode
            return inner | {"padding": spec_sides(outer.pad, rank), "padding_mode": mode}

        def table(call) -> dict:
            first = call.module.maps[0]
            return {"table": call.module.rows, "kernel": first.kernel_size, "stride": first.stride,
                    "padding": spec_sides(call.module.pad, rank), "dilation": first.dilation,
                    "bias": first.bias is not None}  # fmt: skip

        from archcalc.layers.conv_timm import standardized_conv_rules

        return (
            ImportRule(self.name, modules=(cls,), read=lambda call: conv(call.module)),
            *standardized_conv_rules(self.name, rank, conv),
            ImportRule(self.name, modules=(tm.Padded,), read=padded, note=f"around a {cls.__name__}",
                       when=lambda call: isinstance(call.module.inner, cls)),
            ImportRule(self.name, modules=(tm.TableConv,), read=table, note=f"of {cls.__name__}s",
                       when=lambda call: isinstance(call.module.maps[0], cls)),
        )  # fmt: skip


_SUMMARIES = {
    1: "1-D convolution over [C, L] (audio, sequences): grouped, depthwise, dilated, padding modes",
    2: "2-D convolution: standard, grouped, depthwise, dilated, asymmetric, or with a connection table",
    3: "3-D convolution over [C, D, H, W] (video, volumes): grouped, depthwise, dilated, padding modes",
}
register_ranks(_Conv, CONV_NAMES, _SUMMARIES)

__all__ = ["CONV_NAMES"]
