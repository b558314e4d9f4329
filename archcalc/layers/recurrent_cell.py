"""One-step recurrent cells: lstm_cell, gru_cell and rnn_cell, as torch's nn.LSTMCell, nn.GRUCell and
nn.RNNCell.

Shape. The first input is one time step x_t, [H_in]; optional further inputs are the previous state:
h_(t-1) [H] for gru_cell and rnn_cell, h_(t-1) and c_(t-1) [H] for lstm_cell (without them the cell
starts from zeros, as torch does). The output is the new hidden state h_t, [H]. An LSTM cell's new cell
state c_t is not an output: torch returns it beside h_t, and a model that feeds it to the next step is
counted the same, but archcalc's graph cannot yet carry it (a call that reads it imports as unsupported).

The counts are those of one step of one layer of the sequence types in layers/recurrent.py, with
L = 1, D = 1, one layer, no projection, I = H_in and R = H:

    params       G H (H_in + H) + 2 b G H
    macs         G H (H_in + H)
    flops        G H (2 H_in + 2 H - 1 + 2 b) + (E + N) H    (E + N: lstm 18, gru 13, rnn 1)
    connections  G H (H_in + H + 2 b)
    RF           none (a cell mixes all its input features, as a linear layer)

The state is multiplied even when it is zeros (torch computes W_hh h with h = 0), so the counts do not
depend on whether a state is passed. Training: as the sequence types with L = 1.
"""

from __future__ import annotations

from typing import Any

from archcalc.errors import ArchcalcError
from archcalc.layers.base import Attrs, Shape, register
from archcalc.layers.formula import Expr, Formula, Term
from archcalc.layers.recurrent import BIAS, HIDDEN, INPUT_SIZE, NONLINEARITY, Recurrent


class Cell(Recurrent):
    """A single step: one layer, one direction, input [H_in] and optional state inputs."""

    min_inputs = 1
    fused_kernel = False  # a cell traces to two aten::linear, which fvcore counts
    flops_rule = "G H (2 H_in + 2 H - 1 + 2 b) + (E + N) H; E + N: lstm 18, gru 13, rnn 1"
    connections_rule = "G H (H_in + H + 2 b)"
    backward_rule = Recurrent.backward_rule

    def stack(self, a: Attrs, in_shape: Shape) -> list[int]:
        return [in_shape[-1]]

    @staticmethod
    def directions(a: Attrs) -> int:
        return 1

    @staticmethod
    def state_size(a: Attrs) -> int:
        return a["hidden_size"]

    @staticmethod
    def steps(ins: list[Shape]) -> int:
        return 1

    def validate(self, a: Attrs) -> None:
        pass  # no projection to check

    def over_time(self, ins: list[Shape], per_step: Expr) -> Expr:
        return per_step  # one step

    def state_names(self) -> tuple[str, ...]:
        return ("h", "c") if self.cell == "lstm" else ("h",)

    def check_input(self, a: Attrs, ins: list[Shape]) -> None:
        if len(ins[0]) != 1:
            raise ArchcalcError(f"{self.name} reads one time step [H_in], got shape {list(ins[0])} (for a sequence "
                                f"[L, H_in] use {self.cell})")  # fmt: skip
        states = self.state_names()
        if len(ins) not in (1, 1 + len(states)):
            raise ArchcalcError(f"{self.name} takes the input alone or the input and its state "
                                f"({', '.join(states)}), got {len(ins)} inputs")  # fmt: skip
        for name, shape in zip(states, ins[1:]):
            if shape != (a["hidden_size"],):
                raise ArchcalcError(f"{self.name}: the state {name} must have shape [{a['hidden_size']}] "
                                    f"(hidden_size), got {list(shape)}")  # fmt: skip

    def output_shape(self, a: Attrs, ins: list[Shape]) -> Shape:
        """One step's new hidden state: [H]."""
        return (a["hidden_size"],)

    def explain_shape(self, a: Attrs, ins: list[Shape], out: Shape) -> list[Formula]:
        return [Formula("F_out", Term("H", a["hidden_size"]), "hidden_size: the new hidden state")]

    def torch_class(self) -> Any:
        from torch import nn

        return {"lstm": nn.LSTMCell, "gru": nn.GRUCell, "rnn": nn.RNNCell}[self.cell]

    def build_torch(self, a: Attrs, ins: list[Shape], out: Shape):
        from archcalc import torch_modules as tm

        kwargs = {"nonlinearity": a["nonlinearity"]} if self.cell == "rnn" else {}
        return tm.CellStep(self.torch_class()(ins[0][-1], a["hidden_size"], a["bias"], **kwargs))

    def read_module(self, m: Any) -> dict:
        attrs = {"hidden_size": m.hidden_size, "bias": m.bias, "input_size": m.input_size}
        if self.cell == "rnn":
            attrs["nonlinearity"] = m.nonlinearity
        return attrs

    wrapped = "cell"

    def wrapper(self) -> Any:
        from archcalc import torch_modules as tm

        return tm.CellStep

    def other_outputs(self) -> str:
        return "the new cell state c'" if self.cell == "lstm" else ""


CELL_ATTRS = (HIDDEN, BIAS, INPUT_SIZE)


@register
class LSTMCell(Cell):
    name = "lstm_cell"
    cell = "lstm"
    gates = 4
    max_inputs = 3
    summary = "one LSTM step: x [H_in] (and h, c) to h' [H] (nn.LSTMCell)"
    attrs = CELL_ATTRS


@register
class GRUCell(Cell):
    name = "gru_cell"
    cell = "gru"
    gates = 3
    max_inputs = 2
    summary = "one GRU step: x [H_in] (and h) to h' [H] (nn.GRUCell)"
    attrs = CELL_ATTRS


@register
class RNNCell(Cell):
    name = "rnn_cell"
    cell = "rnn"
    gates = 1
    max_inputs = 2
    summary = "one Elman RNN step, tanh or relu: x [H_in] (and h) to h' [H] (nn.RNNCell)"
    attrs = CELL_ATTRS + (NONLINEARITY,)
