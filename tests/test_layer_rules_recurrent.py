"""The recurrent layer types (lstm, gru, rnn and their one-step cells) against the torch modules they describe.

The cases join tests/test_layer_rules_nd.py's table (so `check_case` compares shapes, params and buffers
with nn.LSTM / nn.GRU / nn.RNN built directly and with archcalc's builder, `explain` and the conformance
checklist see them). Here, on top:

- FlopCounterMode on the meta device, where torch runs its reference implementation op by op, counts
  2 x archcalc's MACs: the MACs are exactly the gate and projection matrix products;
- archcalc's FLOPs equal the arithmetic torch dispatches, op by op (addmm 2K per output, mm 2K - 1,
  add/sub/mul 1 per element, sigmoid 4, tanh 1, relu 1, as layers/activation.py counts them): the
  gate arithmetic and the nonlinearities are counted as torch's cells compute them;
- random layers (kind, size, stacking, direction, projection, bias) agree with torch, or both refuse;
- bad attributes and inputs are one-line errors (exit 2 on the command line); the backward rule.
"""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from archcalc import analyse, load_spec_text
from archcalc.analysis.training import training_costs
from archcalc.errors import ArchcalcError
from archcalc.torch_build import build_module
from tests.test_layer_rules import Case


class Sequence(nn.Module):
    """A torch.nn recurrent module used as a model does: `out, _ = rnn(x)`."""

    def __init__(self, rnn: nn.Module) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rnn(x)[0]


def seq(cls, *args, **kwargs):
    return lambda: Sequence(cls(*args, batch_first=True, **kwargs))


class Step(nn.Module):
    def __init__(self, cell: nn.Module) -> None:
        super().__init__()
        self.cell = cell

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.cell(x)
        return out[0] if isinstance(out, tuple) else out


SEQ = (6, 5)  # L = 6 steps of H_in = 5 features

CASES = [
    # G H (H_in + H) + 2 G H = 4 * 7 * 12 + 56 parameters; MACs L G H (H_in + H)
    Case("lstm", {"type": "lstm", "hidden_size": 7}, SEQ, seq(nn.LSTM, 5, 7),
         {"output_shape": [6, 7], "params": 392, "macs": 6 * 336, "receptive_field": None}),
    Case("lstm-stacked-bidirectional", {"type": "lstm", "hidden": 4, "num_layers": 3, "bidirectional": True,
                                        "dropout": 0.5}, SEQ,
         seq(nn.LSTM, 5, 4, num_layers=3, bidirectional=True, dropout=0.5), {"output_shape": [6, 8]}),
    Case("lstm-projected", {"type": "lstm", "hidden_size": 8, "proj_size": 3, "num_layers": 2}, SEQ,
         seq(nn.LSTM, 5, 8, num_layers=2, proj_size=3), {"output_shape": [6, 3]}),
    Case("lstm-projected-bidirectional-nobias", {"type": "lstm", "hidden_size": 6, "proj_size": 2, "num_layers": 2,
                                                 "bidirectional": True, "bias": False}, SEQ,
         seq(nn.LSTM, 5, 6, num_layers=2, proj_size=2, bidirectional=True, bias=False), {"output_shape": [6, 4]}),
    Case("lstm-one-step", {"type": "lstm", "hidden_size": 3}, (1, 2), seq(nn.LSTM, 2, 3)),
    Case("gru", {"type": "gru", "hidden_size": 7, "input_size": 5}, SEQ, seq(nn.GRU, 5, 7), {"params": 294}),
    Case("gru-stacked-bidirectional", {"type": "gru", "hidden_size": 4, "num_layers": 2, "bidirectional": True},
         SEQ, seq(nn.GRU, 5, 4, num_layers=2, bidirectional=True), {"output_shape": [6, 8]}),
    Case("gru-nobias", {"type": "gru", "hidden_size": 4, "bias": False}, SEQ, seq(nn.GRU, 5, 4, bias=False)),
    Case("rnn-tanh", {"type": "rnn", "hidden_size": 7}, SEQ, seq(nn.RNN, 5, 7), {"params": 98}),
    Case("rnn-relu-stacked", {"type": "rnn", "hidden_size": 4, "nonlinearity": "relu", "num_layers": 2}, SEQ,
         seq(nn.RNN, 5, 4, nonlinearity="relu", num_layers=2)),
    Case("rnn-bidirectional-nobias", {"type": "rnn", "hidden_size": 4, "bidirectional": True, "bias": False}, SEQ,
         seq(nn.RNN, 5, 4, bidirectional=True, bias=False), {"output_shape": [6, 8]}),
    Case("lstm-cell", {"type": "lstm_cell", "hidden_size": 7}, (5,), lambda: Step(nn.LSTMCell(5, 7)),
         {"output_shape": [7], "params": 392, "macs": 336, "receptive_field": None}),
    Case("gru-cell", {"type": "gru_cell", "hidden_size": 7}, (5,), lambda: Step(nn.GRUCell(5, 7))),
    Case("gru-cell-nobias", {"type": "gru_cell", "hidden_size": 3, "bias": False}, (5,),
         lambda: Step(nn.GRUCell(5, 3, bias=False))),
    Case("rnn-cell", {"type": "rnn_cell", "hidden_size": 7}, (5,), lambda: Step(nn.RNNCell(5, 7))),
    Case("rnn-cell-relu", {"type": "rnn_cell", "hidden_size": 4, "nonlinearity": "relu"}, (5,),
         lambda: Step(nn.RNNCell(5, 4, nonlinearity="relu"))),
]
IDS = [case.id for case in CASES]


def graph_of(case: Case):
    return load_spec_text(json.dumps({"input": list(case.input), "layers": [case.layer]}), case.id)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_flop_counter_mode_counts_twice_the_macs_on_meta(case):
    layer = analyse(graph_of(case)).layers[-1]
    with torch.device("meta"):
        modules = [build_module(graph_of(case)), case.reference().eval()]
    for module in modules:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            module(torch.empty((2,) + case.input, device="meta"))
        assert counter.get_total_flops() == 2 * 2 * layer.macs


# FLOPs per output element of the ops torch's recurrent cells dispatch (archcalc's costs per element).
ELEMENTWISE = {"add": 1, "sub": 1, "mul": 1, "sigmoid": 4, "tanh": 1, "relu": 1}
MOVES = {"zeros", "transpose", "t", "unbind", "unsafe_split", "stack", "cat", "clone", "select", "view",
         "_unsafe_view", "empty", "flip", "detach", "alias", "expand", "unsqueeze", "squeeze", "slice", "copy"}


class DispatchedFlops(TorchDispatchMode):
    """Counts the arithmetic of every aten op torch runs; an op it does not know fails the test."""

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = func.overloadpacket.__name__.rstrip("_")
        if name == "addmm":  # bias + x W^T: K multiplies, K - 1 adds and the bias add per output
            self.flops += out.numel() * 2 * args[1].shape[-1]
        elif name == "mm":
            self.flops += out.numel() * (2 * args[0].shape[-1] - 1)
        elif name in ELEMENTWISE:
            self.flops += ELEMENTWISE[name] * out.numel()
        elif name not in MOVES:
            raise AssertionError(f"unexpected op {name}")
        return out


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_flops_are_the_arithmetic_torch_runs(case):
    graph = graph_of(case)
    layer = analyse(graph, batch=2).layers[-1]
    module, counter = build_module(graph, device="meta"), DispatchedFlops()
    with counter, torch.no_grad():
        module(torch.empty((2,) + case.input, device="meta"))
    assert counter.flops == layer.flops


def test_cells_take_their_state_as_inputs():
    spec = {"input": [5], "layers": [
        {"name": "h", "type": "linear", "out_features": 7}, {"name": "c", "type": "linear", "out_features": 7,
                                                             "inputs": "input"},
        {"name": "step", "type": "lstm_cell", "hidden_size": 7, "inputs": ["input", "h", "c"]}]}
    graph = load_spec_text(json.dumps(spec))
    step = analyse(graph).layer("step")
    alone = analyse(graph_of(CASES[IDS.index("lstm-cell")])).layers[-1]
    assert (step.output_shape, step.params, step.macs, step.flops) == ([7], alone.params, alone.macs, alone.flops)
    out = build_module(graph, device="cpu")(torch.randn(2, 5))
    assert list(out.shape) == [2, 7]


BAD = [
    ({"type": "lstm", "hidden_size": 4}, [5], "lstm reads a sequence [L, H_in]"),
    ({"type": "gru", "hidden_size": 4}, [2, 3, 5], "gru reads a sequence [L, H_in]"),
    ({"type": "lstm", "hidden_size": 4, "proj_size": 4}, [3, 5], "proj_size (4) must be smaller than hidden_size"),
    ({"type": "rnn", "hidden_size": 4, "nonlinearity": "sigmoid"}, [3, 5], "must be one of tanh, relu"),
    ({"type": "rnn", "hidden_size": 4, "input_size": 6}, [3, 5], "input_size is 6 but the input has 5"),
    ({"type": "gru", "hidden_size": 4, "proj_size": 2}, [3, 5], "gru has no attribute 'proj_size'"),
    ({"type": "lstm", "hidden_size": 4, "dropout": 1.5}, [3, 5], "'dropout' must be between 0 and 1, got 1.5"),
    ({"type": "lstm_cell", "hidden_size": 4}, [3, 5], "lstm_cell reads one time step [H_in]"),
]


@pytest.mark.parametrize("layer, shape, message", BAD, ids=[m for _, _, m in BAD])
def test_bad_recurrent_layers_are_clear_errors(layer, shape, message):
    with pytest.raises(ArchcalcError) as error:
        analyse(load_spec_text(json.dumps({"input": shape, "layers": [layer]})))
    assert message in str(error.value)


def test_a_bad_recurrent_spec_is_one_line_and_exit_2(tmp_path):
    from typer.testing import CliRunner

    from archcalc.cli import app
    from tests.cli_errors import assert_one_line_error

    spec = tmp_path / "bad.yaml"
    spec.write_text("input: [3, 5]\nlayers:\n  - {name: enc, type: lstm, hidden_size: 4, proj_size: 9}\n")
    result = CliRunner().invoke(app, ["report", str(spec)])
    assert_one_line_error(result, "bad.yaml:3: layer enc: proj_size (9) must be smaller than hidden_size (4)")


def test_an_lstm_cell_needs_both_states_or_none():
    spec = {"input": [5], "layers": [{"name": "h", "type": "linear", "out_features": 4},
                                     {"name": "step", "type": "lstm_cell", "hidden_size": 4,
                                      "inputs": ["input", "h"]}]}  # fmt: skip
    with pytest.raises(ArchcalcError, match=r"the input alone or the input and its state \(h, c\), got 2 inputs"):
        analyse(load_spec_text(json.dumps(spec)))
    spec["layers"][1] |= {"type": "gru_cell", "hidden_size": 3}
    with pytest.raises(ArchcalcError, match=r"the state h must have shape \[3\]"):
        analyse(load_spec_text(json.dumps(spec)))


def test_backward_through_time():
    """Weight gradients and state gradients: 2 x the forward MACs; the first layer's input gradient is
    left out when nothing before it is trained."""
    first = load_spec_text(json.dumps({"input": [6, 5], "layers": [
        {"name": "lstm", "type": "lstm", "hidden_size": 7, "num_layers": 2}]}))  # fmt: skip
    after = load_spec_text(json.dumps({"input": [6, 5], "layers": [
        {"name": "fc", "type": "linear", "out_features": 5},
        {"name": "lstm", "type": "lstm", "hidden_size": 7, "num_layers": 2}]}))  # fmt: skip
    forward = analyse(first).layer("lstm")
    skipped = next(layer for layer in training_costs(first, analyse(first)).layers if layer.name == "lstm")
    full = next(layer for layer in training_costs(after, analyse(after)).layers if layer.name == "lstm")
    assert full.backward_macs == 2 * forward.macs
    assert skipped.backward_macs == 2 * forward.macs - 6 * 4 * 7 * 5  # L G H H_in
    # 2 per MAC + the bias gradients (2 G H per step and layer) + 2 x the gate FLOPs (18 H per step and layer)
    assert full.backward_flops == 2 * full.backward_macs + 6 * 2 * (2 * 4 * 7) + 2 * 6 * 2 * 18 * 7


# ----- random recurrent layers against torch (hypothesis) --------------------------------------------------


@st.composite
def recurrent_layers(draw):
    kind = draw(st.sampled_from(["lstm", "gru", "rnn"]))
    hidden = draw(st.integers(1, 6))
    layer = {"type": kind, "hidden_size": hidden, "num_layers": draw(st.integers(1, 3)),
             "bidirectional": draw(st.booleans()), "bias": draw(st.booleans())}  # fmt: skip
    if kind == "lstm":
        layer["proj_size"] = draw(st.integers(0, hidden + 1))  # proj_size >= hidden: both must refuse
    if kind == "rnn":
        layer["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
    return layer, (draw(st.integers(1, 4)), draw(st.integers(1, 5)))


def torch_reference(layer: dict, features: int) -> nn.Module:
    cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[layer["type"]]
    kwargs = {key: value for key, value in layer.items() if key not in ("type", "hidden_size")}
    with torch.device("meta"):
        return Sequence(cls(features, layer["hidden_size"], batch_first=True, **kwargs)).eval()


@settings(max_examples=max(10, settings().max_examples // 6))
@given(recurrent_layers())
def test_random_recurrent_layers_agree_with_torch_or_both_refuse(drawn):
    layer, shape = drawn
    try:
        module = torch_reference(layer, shape[-1])
    except ValueError:
        with pytest.raises(ArchcalcError):
            analyse(load_spec_text(json.dumps({"input": list(shape), "layers": [layer]})))
        return
    result = analyse(load_spec_text(json.dumps({"input": list(shape), "layers": [layer]})), batch=2).layers[-1]
    counter, flops = FlopCounterMode(display=False), DispatchedFlops()
    with counter, flops, torch.no_grad():
        out = module(torch.empty((2,) + shape, device="meta"))
    assert list(out.shape[1:]) == result.output_shape
    assert sum(p.numel() for p in module.parameters()) == result.params
    assert counter.get_total_flops() == 2 * result.macs and flops.flops == result.flops
