"""How each peer tool counts the recurrent layers (lstm, gru, rnn and their cells), one table per tool.

Each tool's table (fvcore_rules.py, ptflops_rules.py, ...) takes its entries from here, so the
recurrent rules, which share their arithmetic, sit in one place. Notation as in
archcalc/layers/recurrent.py: G gates (lstm 4, gru 3, rnn 1), H hidden units, R the recurrent state
size (proj_size or H), I_l each layer's input size, D directions, L steps, N the batch, b = 1 with biases.
A cell is one step of one layer in one direction (L = D = 1, R = H). The rules read the entry's public
facts: `cell`, `gates`, `stack(attrs, in_shape)` (the I_l), `directions`, `state_size` and `steps`.

fvcore (fvcore/nn/flop_count.py): nn.LSTM, nn.GRU and nn.RNN trace to one fused op each (aten::lstm,
    aten::gru, aten::rnn_tanh, aten::rnn_relu) without a handle: 0. The cells trace to two aten::linear
    (W_ih x + b_ih, W_hh h + b_hh): G H (H_in + H) N, archcalc's MACs without the biases (the default).
ptflops (ptflops/pytorch_ops.py, rnn_flops_counter_hook): per layer, the weight shapes of the forward
    direction, G H I_l + G H R, plus 2 G H for the biases, plus per hidden unit 1 (rnn), 7 (gru) or 10
    (lstm) elementwise ops; x L x D x N. The projection W_hr is not counted. Cells: the same with L = D = 1.
thop (thop/rnn_hooks.py): per layer and direction, its cell formula G (H (I + H) + H + 2 b H) + E' H with
    E' = 0 (rnn), 4 (gru, lstm); x L x N. It ignores proj_size: layers above the first read D H inputs
    and every state has H units.
torchinfo (layer_info.py, calculate_macs): parameters named weight_ih_l0, bias_hh_l0, ... count
    params x output_size[0] x output_size[1]; for nn.LSTM that is params x N x L, and for a cell, whose
    output is [N, H], params x N x H (the hidden size stands where a step count would be).
torch's FlopCounterMode, run as people run it, on the CPU: GRU, RNN, a projected LSTM and the cells
    decompose into mm / addmm and count 2 x archcalc's MACs (the default); nn.LSTM without a projection
    runs oneDNN's fused aten::mkldnn_rnn_layer, which has no flop formula: 0. (On the meta device, as in
    `archcalc check`, every product counts; on CUDA, cuDNN's aten::_cudnn_rnn counts 0 for all three.)
"""

from __future__ import annotations

from archcalc.conventions.base import Rule, zero

SEQUENCES = ("lstm", "gru", "rnn")
CELLS = ("lstm_cell", "gru_cell", "rnn_cell")

# Elementwise ops per hidden unit and step that ptflops and thop add to the products.
PTFLOPS_EXTRA = {"rnn": 1, "gru": 7, "lstm": 10}
THOP_EXTRA = {"rnn": 0, "gru": 4, "lstm": 4}


def _shape(v) -> tuple[int, int, int, int, int]:
    """(G, H, R, b, steps x directions x batch) of the layer in view."""
    layer, a = v.layer, v.attrs
    repeats = layer.steps(v.ins) * layer.directions(a) * v.batch
    return layer.gates, a["hidden_size"], layer.state_size(a), int(a["bias"]), repeats


def _ptflops(v) -> dict[str, int]:
    g, h, r, b, repeats = _shape(v)
    widths = v.layer.stack(v.attrs, v.ins[0])
    return {"macs": repeats * sum(g * h * (width + r) for width in widths),
            "bias": repeats * len(widths) * 2 * g * h * b,
            "elementwise": repeats * len(widths) * PTFLOPS_EXTRA[v.layer.cell] * h}  # fmt: skip


def _thop(v) -> dict[str, int]:
    g, h, _, b, repeats = _shape(v)  # thop reads H for the state, whatever proj_size says
    d = v.layer.directions(v.attrs)
    widths = [v.ins[0][-1]] + [d * h] * (len(v.layer.stack(v.attrs, v.ins[0])) - 1)
    return {"macs": repeats * sum(g * h * (width + h) for width in widths),
            "bias": repeats * len(widths) * 2 * g * h * b,
            "elementwise": repeats * len(widths) * (g + THOP_EXTRA[v.layer.cell]) * h}  # fmt: skip


def _torchinfo(v) -> dict[str, int]:
    """params x output_size[0] x output_size[1]: N x L for a sequence, N x H for a cell's [N, H] output."""
    _, h, _, b, _ = _shape(v)
    positions = v.batch * v.out[0]
    biases = 2 * v.layer.gates * h * b * len(v.layer.stack(v.attrs, v.ins[0])) * v.layer.directions(v.attrs)
    return {"macs": (v.params - biases) * positions, "bias": biases * positions}


def _table(rule: Rule, types: tuple[str, ...]) -> dict[str, Rule]:
    return {name: rule for name in types}


FVCORE = _table(zero("aten::lstm / aten::gru / aten::rnn_tanh / aten::rnn_relu: one fused op, no handle"), SEQUENCES)

PTFLOPS = _table(Rule(_ptflops, "(G H I_l + G H R + 2 b G H + E H) x L x D per layer, E: rnn 1, gru 7, lstm 10; "
                                "no projection"), SEQUENCES + CELLS)  # fmt: skip

THOP = _table(Rule(_thop, "(G (H (I + H) + H + 2 b H) + E H) x L x D per layer, E: rnn 0, gru 4, lstm 4; "
                          "proj_size ignored"), SEQUENCES + CELLS)  # fmt: skip

TORCH = {"lstm": Rule(lambda v: 2 * v.macs if v.attrs["proj_size"] else 0,
                     "0: oneDNN's fused aten::mkldnn_rnn_layer has no formula; with proj_size (not fused): "
                     "2 x MACs")}  # fmt: skip

TORCHINFO = {
    **_table(Rule(_torchinfo, "params x N x L (weight_ih_l0, ... count per output row)"), SEQUENCES),
    **_table(Rule(_torchinfo, "params x N x H (its [N, H] output read as [N, L])"), CELLS),
}
