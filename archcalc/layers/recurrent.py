"""Recurrent layers: lstm, gru and rnn (tanh or relu), as torch's nn.LSTM, nn.GRU and nn.RNN with
batch_first=True.

Shape. The input is a sequence [L, H_in] (time steps, features; the batch axis in front, as torch's
batch_first=True), the output the top layer's hidden state at every step, [L, D * H_out]: D = 2 when
bidirectional (forward and reverse concatenated), H_out = proj_size when an LSTM projects its hidden
state, else hidden_size. Every layer starts from a zero state, as torch does when no state is passed.
The final states torch also returns (h_n, and c_n for an LSTM) are not outputs of the layer: the
top layer's forward h_n is the output's last row and its reverse h_n the first row's second half;
the lower layers' final states and c_n are intermediates nothing in the graph reads (a model that
uses them is counted the same, since computing them is part of the counted steps).

Notation (per layer l and direction): G gates (lstm 4, gru 3, rnn 1); H = hidden_size; R = H_out, the
size of the recurrent state fed back (proj_size or H); I_l the layer's input size: I_0 = H_in,
I_l = D * R for l >= 1; P = proj_size (0: none); b = 1 with biases. torch keeps two bias vectors per
gate (b_ih and b_hh), so 2 b G H bias parameters.

    params   per layer and direction: G H I_l (W_ih) + G H R (W_hh) + 2 b G H (b_ih, b_hh) + P H (W_hr),
             summed over the num_layers layers and times D; exactly torch's parameters()
    macs     L * D * sum_l step_l, step_l = G H (I_l + R) + P H: the products W_ih x_t and W_hh h_(t-1) of
             every gate, and the projection W_hr h_t, at every step (the zero initial state is
             multiplied too, as torch does)
    flops    L * D * sum_l [ G H (2 I_l - 1 + b) + G H (2 R - 1 + b)   the two products with their biases
                           + G H                                      adding them (gru: r, z and n's sum)
                           + E H                                      elementwise gate arithmetic
                           + N H                                      gate nonlinearities
                           + P (2 H - 1) ]                            the projection
             E, as torch's cells compute it (aten/src/ATen/native/RNN.cpp):
               lstm 4: c_t = f * c_(t-1) + i * g (2 multiplies, 1 add), h_t = o * tanh(c_t) (1 multiply)
               gru  4: r * (W_hn h + b_hn) (1 multiply), h_t = n + z * (h_(t-1) - n) (3: subtract,
                       multiply, add; the same value as (1 - z) * n + z * h_(t-1))
               rnn  0
             N, at archcalc's per-element activation costs (layers/activation.py: sigmoid 4, tanh 1,
             relu 1): lstm 3 sigmoids (i, f, o) + tanh(g) + tanh(c_t) = 14; gru 2 sigmoids (r, z) +
             tanh(n) = 9; rnn its nonlinearity, 1
    connections  L * D * sum_l [ G H (I_l + R + 2 b) + P H ]: the weighted links into every gate unit
             (each bias a link, as linear counts them) and into the projection; the elementwise gate
             products are not links (they multiply two units, no weight)
    RF       none: output t depends on inputs 0..t (forward), t..L-1 (reverse) or the whole sequence
             (bidirectional), a field that grows with t rather than a sliding window (as after a linear)

Training (backward per sample): backpropagation through time computes the weight gradients (the
forward MACs again) and the gradients of the states through W_hh and W_hr and of every upper layer's
input through W_ih (once more the forward MACs), except the first layer's input gradient G H H_in per
step and direction when no layer before it is trained. Backward FLOPs = 2 x backward MACs + the bias
gradients (2 b G H per step, direction and layer) + about 2 x the forward's gate FLOPs ((E + N) H:
each elementwise op and nonlinearity is differentiated and chained); the last term is an estimate.

The one-step cells (nn.LSTMCell, nn.GRUCell, nn.RNNCell) are layers/recurrent_cell.py.
"""

from __future__ import annotations

from typing import Any, ClassVar

from archcalc.errors import ArchcalcError
from archcalc.layers.attrs import Attr, Bool, Choice, Float, Int
from archcalc.layers.base import REGISTRY, Attrs, LayerType, Params, Shape, register
from archcalc.layers.formula import Const, Expr, Formula, Group, Term, counts
from archcalc.layers.imports import CannotMap, ImportRule

# Gate arithmetic per hidden unit and step (E above) and the nonlinearities (N), by activation type.
GATE_OPS = {"lstm": 4, "gru": 4, "rnn": 0}
NONLINEARITIES = {"lstm": ("sigmoid", "sigmoid", "sigmoid", "tanh", "tanh"), "gru": ("sigmoid", "sigmoid", "tanh")}
GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def activation_flops(kind: str) -> int:
    """FLOPs per element of a registered activation type (sigmoid 4, tanh 1, relu 1)."""
    return REGISTRY[kind].flops({}, [(1,)], (1,))


class Recurrent(LayerType):
    """The shared rules of lstm, gru and rnn and their one-step cells.

    Public facts read by conventions: `cell` (lstm, gru or rnn), `gates` (G), and `stack(a, in_shape)`,
    the input size of each layer.
    """

    category = "recurrent"
    neurons = True
    dense_macs = True  # the MACs are exactly the gate and projection matrix products
    # nn.LSTM / GRU / RNN run one fused aten op (aten::lstm, ...; oneDNN's kernel for an LSTM on the CPU),
    # which fvcore cannot see into: `check` compares their MACs with FlopCounterMode only (on meta)
    fused_kernel = True
    cell: ClassVar[str]
    gates: ClassVar[int]
    flops_rule = ("L D sum_l [G H (2 I_l + 2 R - 1 + 2 b) + (E + N) H + P (2 H - 1)]; "
                  "E: lstm 4, gru 4, rnn 0; N: lstm 14, gru 9, rnn 1")  # fmt: skip
    connections_rule = "L D sum_l [G H (I_l + R + 2 b) + P H]"
    backward_rule = ("MACs: 2 x forward (weights, states and upper inputs) - the first layer's input gradient "
                     "when nothing before is trained; FLOPs: 2 per MAC + bias gradients + ≈ 2 x gate FLOPs")

    # ----- the structure: public facts and the shared numbers -------------------------------------------
    def stack(self, a: Attrs, in_shape: Shape) -> list[int]:
        """I_l: the input size of each layer (H_in, then D * R)."""
        return [in_shape[-1]] + [self.directions(a) * self.state_size(a)] * (self.num_layers(a) - 1)

    @staticmethod
    def directions(a: Attrs) -> int:
        return 2 if a["bidirectional"] else 1

    @staticmethod
    def num_layers(a: Attrs) -> int:
        return a.get("num_layers", 1)

    @staticmethod
    def state_size(a: Attrs) -> int:
        """R: the recurrent state fed back, proj_size when an LSTM projects, else hidden_size."""
        return a.get("proj_size") or a["hidden_size"]

    @staticmethod
    def steps(ins: list[Shape]) -> int:
        return ins[0][0]

    def nonlinearities(self, a: Attrs) -> tuple[str, ...]:
        return NONLINEARITIES.get(self.cell) or (a["nonlinearity"],)

    def elementwise_per_unit(self, a: Attrs) -> int:
        """(E + N): gate arithmetic and nonlinearity FLOPs per hidden unit and step."""
        return GATE_OPS[self.cell] + sum(activation_flops(kind) for kind in self.nonlinearities(a))

    def _layer(self, a: Attrs, width: int) -> dict[str, int]:
        """One layer, one direction, one step, for input size `width`."""
        g, h, r, p, b = self.gates, a["hidden_size"], self.state_size(a), a.get("proj_size") or 0, int(a["bias"])
        return {
            "params": g * h * (width + r) + 2 * b * g * h + p * h,
            "macs": g * h * (width + r) + p * h,
            "flops": g * h * (2 * width + 2 * r - 1 + 2 * b) + self.elementwise_per_unit(a) * h
            + (p * (2 * h - 1) if p else 0),
            "connections": g * h * (width + r + 2 * b) + p * h,
        }

    def _total(self, a: Attrs, ins: list[Shape], key: str) -> int:
        per_step = sum(self._layer(a, width)[key] for width in self.stack(a, ins[0]))
        scale = self.directions(a) * (1 if key == "params" else self.steps(ins))
        return scale * per_step

    # ----- attributes and shape -----------------------------------------------------------------------
    def validate(self, a: Attrs) -> None:
        proj = a.get("proj_size") or 0
        if proj and proj >= a["hidden_size"]:
            raise ArchcalcError(f"proj_size ({proj}) must be smaller than hidden_size ({a['hidden_size']}), as torch "
                                "requires")  # fmt: skip

    def check_input(self, a: Attrs, ins: list[Shape]) -> None:
        if len(ins[0]) != 2:
            raise ArchcalcError(f"{self.name} reads a sequence [L, H_in] (time steps, features; torch's "
                                f"batch_first=True), got shape {list(ins[0])}")  # fmt: skip

    def shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        self.check_input(a, ins)
        if a.get("input_size") is not None and a["input_size"] != ins[0][-1]:
            raise ArchcalcError(f"{self.name}: input_size is {a['input_size']} but the input has {ins[0][-1]} "
                                f"features (input shape {list(ins[0])})")  # fmt: skip
        return self.output_shape(a, ins)

    def output_shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        """Every step's hidden state: [L, D·H_out]."""
        return (ins[0][0], self.directions(a) * self.state_size(a))

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        width: Expr = Term("H_out", self.state_size(a))
        if self.directions(a) == 2:
            width = Term("D", 2) * width
        return [Formula("L_out", Term("L", ins[0][0])), Formula("F_out", width, "D×H_out: the top layer's states")]

    # ----- counts ---------------------------------------------------------------------------------------
    def params(self, a: Attrs, ins: list[Shape], out: Shape) -> Params:
        return Params(trainable=self._total(a, ins, "params"))

    def macs(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self._total(a, ins, "macs")

    def flops(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self._total(a, ins, "flops")

    def connections(self, a: Attrs, ins: list[Shape], out: Shape) -> int:
        return self._total(a, ins, "connections")

    def receptive_field(self, a: Attrs, ins: list[Shape], out: Shape) -> None:
        return None  # output t sees inputs 0..t (or all of them): no fixed window

    def backward(self, a: Attrs, ins: list[Shape], out: Shape, input_grad: bool) -> tuple[int, int]:
        macs = 2 * self.macs(a, ins, out)
        if not input_grad:  # nothing upstream is trained: the first layer's W_ih^T products are skipped
            macs -= self.steps(ins) * self.directions(a) * self.gates * a["hidden_size"] * ins[0][-1]
        layers, steps = self.num_layers(a), self.steps(ins) * self.directions(a)
        bias_grads = steps * layers * 2 * self.gates * a["hidden_size"] * int(a["bias"])
        gate_grads = 2 * steps * layers * self.elementwise_per_unit(a) * a["hidden_size"]
        return macs, 2 * macs + bias_grads + gate_grads

    # ----- explain -------------------------------------------------------------------------------------
    def _terms(self, a: Attrs, ins: list[Shape]) -> dict[str, Expr]:
        state = Term("P", a["proj_size"]) if a.get("proj_size") else Term("H", a["hidden_size"])
        return {"G": Term("G", self.gates), "H": Term("H", a["hidden_size"]), "R": state,
                "H_in": Term("H_in", ins[0][-1]), "P": Term("P", a.get("proj_size") or 0)}  # fmt: skip

    def _per_layer(self, a: Attrs, ins: list[Shape], build: Any) -> Expr:
        """build(width) for the first layer, + (n − 1) × build(D×R) for the others, × D."""
        t = self._terms(a, ins)
        expr: Expr = build(t["H_in"])
        if self.num_layers(a) > 1:
            upper = t["R"] if self.directions(a) == 1 else Term("D", 2) * t["R"]
            expr = Group(expr) + Group(Term("n", self.num_layers(a)) - 1) * Group(build(upper))
        return Term("D", 2) * Group(expr) if self.directions(a) == 2 else expr

    def over_time(self, ins: list[Shape], per_step: Expr) -> Expr:
        """L × (one step): the counts of every time step."""
        return Term("L", self.steps(ins)) * Group(per_step)

    def explain_counts(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        t = self._terms(a, ins)
        g, h, r, p, bias = t["G"], t["H"], t["R"], t["P"], bool(a["bias"])
        proj = bool(a.get("proj_size"))
        per_unit = self.elementwise_per_unit(a)

        def params(width: Expr) -> Expr:
            expr = g * h * Group(width + r)
            expr = expr + 2 * g * h if bias else expr
            return expr + p * h if proj else expr

        def macs(width: Expr) -> Expr:
            expr = g * h * Group(width + r)
            return expr + p * h if proj else expr

        def flops(width: Expr) -> Expr:
            expr = g * h * Group(2 * width + 2 * r - 1 + 2) if bias else g * h * Group(2 * width + 2 * r - 1)
            expr = expr + Const(per_unit) * h
            return expr + p * Group(2 * h - 1) if proj else expr

        def links(width: Expr) -> Expr:
            expr = g * h * Group(width + r + 2) if bias else g * h * Group(width + r)
            return expr + p * h if proj else expr

        kinds = self.nonlinearities(a)
        nonlinear = " + ".join(f"{kind} {activation_flops(kind)}" for kind in kinds)
        return counts(
            params=self._per_layer(a, ins, params),
            macs=self.over_time(ins, self._per_layer(a, ins, macs)),
            flops=self.over_time(ins, self._per_layer(a, ins, flops)),
            connections=self.over_time(ins, self._per_layer(a, ins, links)),
            notes={
                "params": "per layer: W_ih G×H×I, W_hh G×H×R" + (", b_ih and b_hh 2×G×H" if bias else "")
                + (", W_hr P×H" if proj else "") + "; I = H_in, then D×R",
                "MACs": "per step: the gate products W_ih x and W_hh h" + (" and the projection" if proj else ""),
                "FLOPs": f"per step: the products{' with their biases' if bias else ''}, their sum, then "
                         f"{per_unit} per hidden unit: gate arithmetic {GATE_OPS[self.cell]} + {nonlinear}",
                "connections": "weighted links into every gate unit" + (" (each bias a link)" if bias else ""),
            },
        )  # fmt: skip

    # ----- torch --------------------------------------------------------------------------------------
    def torch_class(self) -> Any:
        from torch import nn

        return {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[self.cell]

    def torch_kwargs(self, a: Attrs) -> dict:
        kwargs = {"num_layers": a["num_layers"], "bias": a["bias"], "batch_first": True, "dropout": a["dropout"],
                  "bidirectional": a["bidirectional"]}  # fmt: skip
        if self.cell == "lstm":
            kwargs["proj_size"] = a["proj_size"]
        if self.cell == "rnn":
            kwargs["nonlinearity"] = a["nonlinearity"]
        return kwargs

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        return tm.SequenceOutput(self.torch_class()(ins[0][-1], a["hidden_size"], **self.torch_kwargs(a)))

    def read_module(self, m: Any) -> dict:
        if not m.batch_first:
            raise CannotMap("batch_first=False: archcalc reads sequences batch first ([N, L, H_in])")
        attrs = {"hidden_size": m.hidden_size, "num_layers": m.num_layers, "bias": m.bias,
                 "bidirectional": m.bidirectional, "dropout": m.dropout, "input_size": m.input_size}  # fmt: skip
        if self.cell == "lstm":
            attrs["proj_size"] = m.proj_size
        if self.cell == "rnn":
            attrs["nonlinearity"] = m.nonlinearity
        return attrs

    # the wrapper archcalc's builder puts around the torch module, and the name of the torch module inside it
    wrapped: ClassVar[str] = "rnn"

    def wrapper(self) -> Any:
        from archcalc import torch_modules as tm

        return tm.SequenceOutput

    def other_outputs(self) -> str:
        return "the final states (h_n, c_n)" if self.cell == "lstm" else "the final state h_n"

    def torch_import(self) -> tuple:
        cls = self.torch_class()

        def inner(call) -> Any:
            return getattr(call.module, self.wrapped)

        return (
            ImportRule(self.name, modules=(cls,), read=lambda call: self.read_module(call.module),
                       other_outputs=self.other_outputs()),
            ImportRule(self.name, modules=(self.wrapper(),), read=lambda call: self.read_module(inner(call)),
                       when=lambda call: type(inner(call)) is cls, note=f"around nn.{cls.__name__}"),
        )  # fmt: skip


HIDDEN = Attr("hidden_size", Int(), doc="H: hidden units per layer and direction", aliases=("hidden",))
BIAS = Attr("bias", Bool(), True, "the two bias vectors per gate, b_ih and b_hh, as torch")
INPUT_SIZE = Attr("input_size", Int(), None, "optional check of the input's features H_in")
NONLINEARITY = Attr("nonlinearity", Choice("tanh", "relu"), "tanh")

SEQUENCE_ATTRS = (
    HIDDEN,
    Attr("num_layers", Int(), 1, "stacked layers; each reads the one below"),
    Attr("bidirectional", Bool(), False, "a reverse direction too; the output concatenates both (D = 2)"),
    BIAS,
    Attr("dropout", Float(0.0, 1.0), 0.0, "dropout between stacked layers (training only; counts nothing)"),
    INPUT_SIZE,
)


@register
class LSTM(Recurrent):
    name = "lstm"
    cell = "lstm"
    gates = 4
    summary = "long short-term memory over a sequence [L, H_in] (nn.LSTM, batch first)"
    attrs = SEQUENCE_ATTRS + (Attr("proj_size", Int(0), 0, "P: project h_t to this size (0: none)"),)


@register
class GRU(Recurrent):
    name = "gru"
    cell = "gru"
    gates = 3
    summary = "gated recurrent unit over a sequence [L, H_in] (nn.GRU, batch first)"
    attrs = SEQUENCE_ATTRS


@register
class RNN(Recurrent):
    name = "rnn"
    cell = "rnn"
    gates = 1
    summary = "Elman recurrent layer over a sequence [L, H_in], tanh or relu (nn.RNN, batch first)"
    attrs = SEQUENCE_ATTRS + (NONLINEARITY,)
